import { useEffect, useState } from 'preact/hooks';
import type { FlowUse, SubmitParams } from '../api.js';
import { roleAtLeast } from '../auth.js';
import { formatRelative, shortId } from '../format.js';
import { navigate, runHref } from '../router.js';
import { namespaceParam, useSession } from '../session.js';
import { FieldProblem, fieldOfRefusal, parseConcurrency, parseFlowText, parseInputs, parseObjectField, type FieldName } from './new-run-fields.js';

/** What the form holds: kept as typed while a submit fails, so nothing is lost. */
interface Form {
  source: 'stored' | 'pasted';
  flowId: string;
  flowText: string;
  inputs: string;
  maxConcurrency: string;
  variables: string;
  overrides: string;
  label: string;
}

const EMPTY: Form = { source: 'stored', flowId: '', flowText: '', inputs: '', maxConcurrency: '', variables: '', overrides: '', label: '' };

/**
 * Submits a run (docs/dashboard.md): a flow the namespace ran before (`flows/list`) or one pasted
 * as YAML or JSON, inputs as JSON Lines (pasted or from a `.jsonl` file), concurrency, variables,
 * overrides and a label; then opens the new run's page. The server's refusal is shown above the
 * button, naming the field, and the form keeps what was typed.
 */
export function NewRun() {
  const session = useSession();
  const { api, identity } = session;
  const [form, setForm] = useState<Form>(EMPTY);
  const [flows, setFlows] = useState<FlowUse[]>();
  const [problem, setProblem] = useState<{ field?: FieldName; message: string; fromServer?: boolean }>();
  const [sending, setSending] = useState(false);
  useEffect(() => {
    api.listFlows({ limit: 100, ...namespaceParam(session) }).then(
      (page) => {
        setFlows(page.flows);
        setForm((f) => ({ ...f, source: page.flows.length === 0 ? 'pasted' : f.source, flowId: f.flowId || (page.flows[0]?.flowId ?? '') }));
      },
      () => setFlows([]),
    );
  }, [api, session.namespace]);
  const set = (field: keyof Form) => (event: Event) => setForm((f) => ({ ...f, [field]: (event.target as HTMLInputElement).value }));
  const mayRun = roleAtLeast(identity.role, 'submitter');

  const submit = async (event: Event) => {
    event.preventDefault();
    setProblem(undefined);
    setSending(true);
    try {
      const run = await api.submitRun(await submitParams(form));
      navigate(runHref(run.runId));
    } catch (error) {
      const { message } = error as Error;
      setProblem(error instanceof FieldProblem ? { field: error.field, message } : { field: fieldOfRefusal(message), message, fromServer: true });
    } finally {
      setSending(false);
    }
  };
  const fieldProblem = (field: FieldName) =>
    problem?.field === field && (
      <p class="error" role="alert" data-testid={`problem-${field}`} data-from-server={String(problem.fromServer === true)}>
        {problem.fromServer === true && 'The server refused the run: '}{problem.message}
      </p>
    );

  return (
    <section class="new-run" data-testid="new-run-page">
      <h1>New run</h1>
      {!mayRun && <p class="notice" data-testid="needs-submitter">Submitting needs a token with role submitter or above: this one ({identity.name}) has role {identity.role}.</p>}
      <form class="run-form" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Flow</legend>
          <div class="chips" role="group" aria-label="Flow source">
            <button type="button" class="chip" aria-pressed={form.source === 'stored'} disabled={flows?.length === 0} onClick={() => setForm((f) => ({ ...f, source: 'stored' }))} data-testid="source-stored">A flow run before</button>
            <button type="button" class="chip" aria-pressed={form.source === 'pasted'} onClick={() => setForm((f) => ({ ...f, source: 'pasted' }))} data-testid="source-pasted">Paste YAML or JSON</button>
          </div>
          {form.source === 'stored' ? (
            <StoredFlow flows={flows ?? []} flowId={form.flowId} onChoose={set('flowId')} />
          ) : (
            <label>Flow (YAML or JSON)
              <textarea rows={12} spellcheck={false} class="mono" value={form.flowText} onInput={set('flowText')} data-testid="flow-text" />
            </label>
          )}
          {fieldProblem('flow')}
        </fieldset>
        <fieldset>
          <legend>Inputs</legend>
          <label>One JSON value per line (JSON Lines)
            <textarea rows={6} spellcheck={false} class="mono" value={form.inputs} onInput={set('inputs')} data-testid="inputs-text" />
          </label>
          <label><span>…or a <code>.jsonl</code> file</span> <input type="file" accept=".jsonl,.json,.txt,application/jsonl" onChange={(e) => void readFile(e, (text) => setForm((f) => ({ ...f, inputs: text })))} data-testid="inputs-file" /></label>
          {fieldProblem('inputs')}
        </fieldset>
        <fieldset>
          <legend>Options</legend>
          <div class="filters">
            <label>Max concurrency <input inputMode="numeric" value={form.maxConcurrency} onInput={set('maxConcurrency')} placeholder="default" data-testid="max-concurrency" /></label>
            <label>Label <input value={form.label} onInput={set('label')} data-testid="flow-label" /></label>
          </div>
          {fieldProblem('maxConcurrency')}
          <label>Variables (JSON object) <textarea rows={3} spellcheck={false} class="mono" value={form.variables} onInput={set('variables')} placeholder='{"model": "small"}' data-testid="variables-text" /></label>
          {fieldProblem('variables')}
          <label>Overrides (JSON: {'{stepId: {$type, value}}'}) <textarea rows={3} spellcheck={false} class="mono" value={form.overrides} onInput={set('overrides')} data-testid="overrides-text" /></label>
          {fieldProblem('overrides')}
        </fieldset>
        {problem !== undefined && problem.field === undefined && <p class="error" role="alert" data-testid="submit-error">{problem.message}</p>}
        <button type="submit" class="primary" disabled={!mayRun || sending} data-testid="submit-run">{sending ? 'Submitting…' : 'Submit run'}</button>
      </form>
    </section>
  );
}

/** The params of `runs/submit` from the form; a field that does not parse throws its `FieldProblem`. */
async function submitParams(form: Form): Promise<SubmitParams> {
  const flow = form.source === 'stored' ? undefined : await parseFlowText(form.flowText);
  if (flow === undefined && form.flowId === '') throw new FieldProblem('flow', 'Choose a flow, or paste one.');
  const params: SubmitParams = { ...(flow === undefined ? { flowId: form.flowId } : { flow }), inputs: parseInputs(form.inputs) };
  const maxConcurrency = parseConcurrency(form.maxConcurrency);
  const variables = parseObjectField('variables', form.variables);
  const overrides = parseObjectField('overrides', form.overrides);
  if (maxConcurrency !== undefined) params.maxConcurrency = maxConcurrency;
  if (variables !== undefined) params.variables = variables;
  if (overrides !== undefined) params.overrides = overrides as SubmitParams['overrides'];
  if (form.label.trim() !== '') params.flowLabel = form.label.trim();
  return params;
}

function StoredFlow({ flows, flowId, onChoose }: { flows: FlowUse[]; flowId: string; onChoose: (event: Event) => void }) {
  const now = Date.now();
  return (
    <>
      <label>Flow
        <select value={flowId} onChange={onChoose} data-testid="flow-select">
          {flows.map((flow) => (
            <option value={flow.flowId}>
              {flow.flowName ?? shortId(flow.flowId.replace(/^sha256:/, ''))} · {flow.runs} run{flow.runs === 1 ? '' : 's'}, last {formatRelative(flow.lastUsedAt, now)}
            </option>
          ))}
        </select>
      </label>
      {flowId !== '' && <FlowText key={flowId} flowId={flowId} />}
    </>
  );
}

/** The stored flow itself, read with `blobs/get` when opened. */
function FlowText({ flowId }: { flowId: string }) {
  const { api } = useSession();
  const [text, setText] = useState<string>();
  const open = (event: Event) => {
    if ((event.target as HTMLDetailsElement).open && text === undefined) {
      api.getBlob(flowId).then((blob) => setText(JSON.stringify(blob.data, null, 2)), (error: Error) => setText(`Cannot read it: ${error.message}`));
    }
  };
  return (
    <details onToggle={open} data-testid="flow-preview">
      <summary>Show the flow <span class="mono hint">{flowId.slice(0, 19)}…</span></summary>
      <pre class="mono">{text ?? 'Loading…'}</pre>
    </details>
  );
}

async function readFile(event: Event, onText: (text: string) => void): Promise<void> {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file !== undefined) onText(await file.text());
}
