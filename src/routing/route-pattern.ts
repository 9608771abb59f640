/**
 * Route patterns (docs/routing.md; Stepflow's matchit syntax): literal segments, `{name}` = exactly one
 * segment, `{*name}` = the rest (one or more segments, last only).
 */
export type PatternSegment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string }
  | { kind: 'rest'; name: string };

export interface RoutePattern {
  source: string;
  segments: PatternSegment[];
}

const PARAM = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)\}$/;
const TEMPLATE_REFERENCE = /\{\*?([A-Za-z_][A-Za-z0-9_]*)\}/g;
const RANK = { rest: 0, param: 1, literal: 2 } as const;

/** Parses a pattern such as `/tools/{*component}`; throws an Error saying what is wrong. */
export function parseRoutePattern(source: string): RoutePattern {
  if (!source.startsWith('/')) throw new Error(`pattern "${source}" must start with "/"`);
  const names = new Set<string>();
  const parts = source.slice(1).split('/');
  const segments = parts.map((part, i): PatternSegment => {
    if (part === '') throw new Error(`pattern "${source}" has an empty segment`);
    const param = PARAM.exec(part);
    if (!param) {
      if (/[{}]/.test(part)) throw new Error(`pattern "${source}": a parameter must be a whole segment, like {name} or {*name}`);
      return { kind: 'literal', text: part };
    }
    const [, star, name] = param;
    if (names.has(name)) throw new Error(`pattern "${source}" uses the parameter {${name}} twice`);
    names.add(name);
    if (star && i !== parts.length - 1) throw new Error(`pattern "${source}": {*${name}} must be the last segment`);
    return star ? { kind: 'rest', name } : { kind: 'param', name };
  });
  return { source, segments };
}

/** The captures of a component path (`/a/b/c`) against a pattern, or undefined when it does not match. */
export function matchRoutePattern(pattern: RoutePattern, path: string): Record<string, string> | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts = path.slice(1).split('/');
  if (parts.some((part) => part === '')) return undefined;
  const captures: Record<string, string> = {};
  const { segments } = pattern;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (i >= parts.length) return undefined;
    if (segment.kind === 'literal') {
      if (parts[i] !== segment.text) return undefined;
    } else if (segment.kind === 'param') {
      captures[segment.name] = parts[i];
    } else {
      captures[segment.name] = parts.slice(i).join('/');
      return captures;
    }
  }
  return parts.length === segments.length ? captures : undefined;
}

/** Negative when `a` is more specific than `b`: segment by segment, literal > `{x}` > `{*x}`. */
export function compareSpecificity(a: RoutePattern, b: RoutePattern): number {
  const length = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const difference = RANK[b.segments[i].kind] - RANK[a.segments[i].kind];
    if (difference !== 0) return difference;
  }
  return b.segments.length - a.segments.length;
}

/** A key equal for two patterns that match exactly the same paths (parameter names ignored). */
export function patternShape(pattern: RoutePattern): string {
  return pattern.segments
    .map((s) => (s.kind === 'literal' ? `=${s.text}` : s.kind === 'param' ? '{}' : '{*}'))
    .join('/');
}

/**
 * The parameter names a template (`/{component}`) refers to. A template may produce names with or
 * without a leading `/` (`{component}`): Stepflow's TypeScript SDK registers `add`, not `/add`.
 */
export function templateReferences(template: string): string[] {
  return [...template.matchAll(TEMPLATE_REFERENCE)].map((m) => m[1]);
}

/** Substitutes captures into a template: `{name}` and `{*name}` both take the capture. */
export function fillRouteTemplate(template: string, captures: Readonly<Record<string, string>>): string {
  return template.replace(TEMPLATE_REFERENCE, (whole, name: string) => captures[name] ?? whole);
}

/** Fills a pattern's parameters from captures; undefined when one is missing or does not fit. */
export function buildPathFromPattern(pattern: RoutePattern, captures: Readonly<Record<string, string>>): string | undefined {
  const parts: string[] = [];
  for (const segment of pattern.segments) {
    if (segment.kind === 'literal') {
      parts.push(segment.text);
      continue;
    }
    const value = captures[segment.name];
    if (value === undefined || value === '') return undefined;
    if (segment.kind === 'param' && value.includes('/')) return undefined;
    parts.push(value);
  }
  return '/' + parts.join('/');
}

/** What is wrong with a route table, and where (relative to `routes`). */
export interface RouteProblem {
  path: Array<string | number>;
  message: string;
}

/** The minimum a route rule needs for the checks below. */
interface CheckedRule {
  plugin: string;
  component?: string;
}

/**
 * The first problem of a route table, or undefined: pattern syntax, two patterns matching the
 * same paths, empty rule lists, unknown plugins, templates naming missing captures, and rules
 * with no way to name the component.
 */
export function findRouteProblem(
  routes: Readonly<Record<string, readonly CheckedRule[]>>,
  pluginNames: Iterable<string>,
): RouteProblem | undefined {
  const plugins = [...pluginNames];
  const shapes = new Map<string, string>();
  for (const [source, rules] of Object.entries(routes)) {
    let pattern: RoutePattern;
    try {
      pattern = parseRoutePattern(source);
    } catch (err) {
      return { path: [source], message: (err as Error).message };
    }
    const shape = patternShape(pattern);
    const twin = shapes.get(shape);
    if (twin !== undefined) return { path: [source], message: `route "${source}" matches the same components as route "${twin}"` };
    shapes.set(shape, source);
    if (rules.length === 0) return { path: [source], message: `route "${source}" has no rules` };
    const captures = new Set(pattern.segments.flatMap((s) => (s.kind === 'literal' ? [] : [s.name])));
    for (const [i, rule] of rules.entries()) {
      if (!plugins.includes(rule.plugin)) {
        const defined = plugins.length > 0 ? plugins.join(', ') : 'none';
        return {
          path: [source, i, 'plugin'],
          message: `route "${source}" names plugin "${rule.plugin}", which is not defined (plugins: ${defined})`,
        };
      }
      const template = rule.component;
      if (template === undefined) {
        if (!captures.has('component')) {
          return {
            path: [source, i],
            message: `route "${source}" captures no {component} or {*component}: give the rule a component template like "/name"`,
          };
        }
        continue;
      }
      const missing = templateReferences(template).find((name) => !captures.has(name));
      if (missing !== undefined) {
        return { path: [source, i, 'component'], message: `component template "${template}" uses {${missing}}, which route "${source}" does not capture` };
      }
    }
  }
  return undefined;
}
