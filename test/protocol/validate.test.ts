import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeFirstIssue, describeIssue, fieldIssues, parseOrInvalidParams, RpcError } from '../../protocol/index.js';

describe('describeFirstIssue', () => {
  it('names the step, the field and the message of the first issue only', () => {
    const issues = [
      { stepId: 'a', field: 'steps[0].input.$step', message: 'step "a" references itself' },
      { field: 'output', message: 'second problem' },
    ];
    expect(describeFirstIssue(issues)).toBe('step "a" field "steps[0].input.$step": step "a" references itself');
    expect(describeFirstIssue(issues, ', ')).toBe('step "a", field "steps[0].input.$step": step "a" references itself');
    expect(describeFirstIssue(issues.slice(1))).toBe('field "output": second problem');
    expect(describeFirstIssue([])).toBe('malformed');
  });

  it('leaves out the field part of an issue without a field', () => {
    expect(describeIssue({ stepId: 'b', field: '', message: 'is unreachable' })).toBe('step "b" is unreachable');
  });

  it('is what parseOrInvalidParams says, while its data lists every issue', () => {
    const schema = z.object({ a: z.string(), b: z.array(z.number()) });
    const value = { a: 1, b: [1, 'x'] };
    let error: unknown;
    try {
      parseOrInvalidParams(schema, value, 'test/method');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RpcError);
    const issues = fieldIssues(schema.safeParse(value).error!);
    expect((error as RpcError).message).toBe(`Invalid params for test/method: ${describeFirstIssue(issues)}`);
    expect((error as RpcError).message).toMatch(/^Invalid params for test\/method: field "a": /);
    expect((error as RpcError).data).toEqual({ method: 'test/method', issues });
    expect(issues.map((i) => i.field)).toEqual(['a', 'b[1]']);
  });
});
