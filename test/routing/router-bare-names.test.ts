import { describe, expect, it } from 'vitest';
import type { RouteRule } from '../../src/config/index.js';
import { Router } from '../../src/routing/router.js';

const router = (routes: Record<string, RouteRule[]>) => new Router(routes, new Set(['calc', 'builtin']));

describe('Router with templates that produce names without a leading slash', () => {
  it('sends the bare capture for "{component}", one segment or many', () => {
    const r = router({ '/calc/{*component}': [{ plugin: 'calc', component: '{component}' }] });
    expect(r.resolve('/calc/add', {})).toEqual({ plugin: 'calc', component: 'add' });
    expect(r.resolve('/calc/math/add', {})).toEqual({ plugin: 'calc', component: 'math/add' });
  });

  it('fills bare templates with literal text around the captures', () => {
    const r = router({ '/ns/{group}/{name}': [{ plugin: 'calc', component: '{group}.{name}' }] });
    expect(r.resolve('/ns/math/add', {})).toEqual({ plugin: 'calc', component: 'math.add' });
  });

  it('finds the full path of a bare plugin name, including one of several segments, and not of a slashed one', () => {
    const r = router({ '/calc/{*component}': [{ plugin: 'calc', component: '{component}' }] });
    expect(r.pathsFor('calc', 'add')).toEqual(['/calc/add']);
    expect(r.pathsFor('calc', 'math/add')).toEqual(['/calc/math/add']);
    // The rule sends `add`, never `/add`: a server registering `/add` is not reachable through it.
    expect(r.pathsFor('calc', '/add')).toEqual([]);
  });

  it('lists bare names beside slashed ones of other routes', () => {
    const r = router({
      '/calc/{*component}': [{ plugin: 'calc', component: '{component}' }],
      '/builtin/{*component}': [{ plugin: 'builtin' }],
    });
    const listed = r.routedComponents(new Map([['calc', ['add']], ['builtin', ['/eval']]]));
    expect(listed.map((p) => [p.component, p.pluginComponent])).toEqual([
      ['/builtin/eval', '/eval'],
      ['/calc/add', 'add'],
    ]);
  });

  it('matches componentAllow and componentDeny entries with or without the slash against bare names', () => {
    const r = router({
      '/calc/{*component}': [
        { plugin: 'calc', component: '{component}', componentDeny: ['/secret'], conditions: [{ path: '$.any', value: 1 }] },
        { plugin: 'builtin', component: '{component}', componentAllow: ['eval', '/map'] },
      ],
    });
    expect(r.resolve('/calc/eval', {})).toEqual({ plugin: 'builtin', component: 'eval' });
    expect(r.resolve('/calc/map', {})).toEqual({ plugin: 'builtin', component: 'map' });
    expect(r.resolve('/calc/add', { any: 1 })).toEqual({ plugin: 'calc', component: 'add' });
    expect(r.hasRouteFor('/calc/secret')).toBe(false);
  });
});
