import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../protocol/index.js';
import type { RouteRule } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { ComponentError } from '../../src/calls/component-error.js';
import { Router } from '../../src/routing/router.js';

const PLUGINS = ['builtin', 'tools', 'openai', 'local', 'mock'];
const router = (routes: Record<string, RouteRule[]>) => new Router(routes, new Set(PLUGINS));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('Router.resolve', () => {
  it('sends the capture of {*component} with a leading slash', () => {
    const r = router({ '/builtin/{*component}': [{ plugin: 'builtin' }], '/a/{*component}': [{ plugin: 'tools' }] });
    expect(r.resolve('/builtin/eval', {})).toEqual({ plugin: 'builtin', component: '/eval' });
    expect(r.resolve('/a/b/c', {})).toEqual({ plugin: 'tools', component: '/b/c' });
  });

  it('sends the capture of {component} (one segment) with a leading slash', () => {
    const r = router({ '/mock/{component}': [{ plugin: 'mock' }] });
    expect(r.resolve('/mock/one_output', null)).toEqual({ plugin: 'mock', component: '/one_output' });
  });

  it('fills the rule component template with the captures', () => {
    const r = router({
      '/svc/{group}/{name}': [{ plugin: 'tools', component: '/{group}_{name}' }],
      '/run': [{ plugin: 'builtin', component: '/eval' }],
    });
    expect(r.resolve('/svc/text/upper', {})).toEqual({ plugin: 'tools', component: '/text_upper' });
    expect(r.resolve('/run', {})).toEqual({ plugin: 'builtin', component: '/eval' });
  });

  it('prefers the most specific pattern whatever the order in the file', () => {
    const r = router({
      '/{*component}': [{ plugin: 'local' }],
      '/tools/{*component}': [{ plugin: 'tools' }],
      '/tools/{component}': [{ plugin: 'mock' }],
      '/tools/special': [{ plugin: 'builtin', component: '/eval' }],
    });
    expect(r.resolve('/tools/special', {})).toEqual({ plugin: 'builtin', component: '/eval' });
    expect(r.resolve('/tools/x', {})).toEqual({ plugin: 'mock', component: '/x' });
    expect(r.resolve('/tools/x/y', {})).toEqual({ plugin: 'tools', component: '/x/y' });
    expect(r.resolve('/other/z', {})).toEqual({ plugin: 'local', component: '/other/z' });
  });

  it('tries rules in order, taking the first whose conditions all hold on the input', () => {
    const r = router({
      '/ai/{*component}': [
        { plugin: 'openai', conditions: [{ path: '$.model', value: 'gpt-4' }, { path: '$.options.stream', value: false }] },
        { plugin: 'local', conditions: [{ path: '$.messages[0].role', value: 'system' }] },
        { plugin: 'tools', conditions: [{ path: 'settings.mode', value: { fast: true, level: [1, 2] } }] },
        { plugin: 'mock' },
      ],
    });
    expect(r.resolve('/ai/chat', { model: 'gpt-4', options: { stream: false } }).plugin).toBe('openai');
    expect(r.resolve('/ai/chat', { model: 'gpt-4', options: { stream: true } }).plugin).toBe('mock');
    expect(r.resolve('/ai/chat', { messages: [{ role: 'system' }] }).plugin).toBe('local');
    expect(r.resolve('/ai/chat', { settings: { mode: { level: [1, 2], fast: true } } }).plugin).toBe('tools');
    expect(r.resolve('/ai/chat', 'not an object').plugin).toBe('mock');
  });

  it('treats a condition whose path is missing in the input as not holding', () => {
    const r = router({ '/x/{*component}': [{ plugin: 'tools', conditions: [{ path: '$.a', value: null }] }, { plugin: 'mock' }] });
    expect(r.resolve('/x/y', {}).plugin).toBe('mock');
    expect(r.resolve('/x/y', { a: null }).plugin).toBe('tools');
  });

  it('applies componentAllow and componentDeny to the resolved name', () => {
    const r = router({
      '/t/{*component}': [
        { plugin: 'tools', componentAllow: ['/upper', 'lower'] },
        { plugin: 'local', componentDeny: ['/secret'] },
      ],
    });
    expect(r.resolve('/t/upper', {}).plugin).toBe('tools');
    expect(r.resolve('/t/lower', {}).plugin).toBe('tools');
    expect(r.resolve('/t/other', {}).plugin).toBe('local');
    expect(() => r.resolve('/t/secret', {})).toThrow(ComponentError);
  });

  it('falls back to a less specific pattern when no rule of the most specific one applies', () => {
    const r = router({
      '/ai/{*component}': [{ plugin: 'openai', conditions: [{ path: '$.model', value: 'gpt-4' }] }],
      '/{*component}': [{ plugin: 'local' }],
    });
    expect(r.resolve('/ai/chat', { model: 'gpt-4' })).toEqual({ plugin: 'openai', component: '/chat' });
    expect(r.resolve('/ai/chat', { model: 'llama' })).toEqual({ plugin: 'local', component: '/ai/chat' });
  });

  it('throws ComponentError -32001 naming the component when nothing matches', () => {
    const error = thrown(() => router({ '/builtin/{*component}': [{ plugin: 'builtin' }] }).resolve('/python/udf', {})) as ComponentError;
    expect(error).toBeInstanceOf(ComponentError);
    expect(error.error).toEqual({ code: ErrorCodes.ComponentNotFound, message: 'no route for component "/python/udf"', data: { component: '/python/udf' } });
  });
});

describe('Router construction', () => {
  it('refuses a route naming an unknown plugin, naming route and plugin', () => {
    const error = thrown(() => router({ '/py/{*component}': [{ plugin: 'python' }] })) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"/py/{*component}"');
    expect(error.message).toContain('"python"');
    expect(error.field).toBe('routes./py/{*component}[0].plugin');
  });

  it('refuses bad patterns and bad condition paths', () => {
    expect(() => router({ 'py/{*component}': [{ plugin: 'tools' }] })).toThrow(ConfigError);
    expect(() => router({ '/a/{*component}': [{ plugin: 'tools', conditions: [{ path: '$[x', value: 1 }] }] })).toThrow(ConfigError);
  });
});

describe('Router listing', () => {
  const r = router({
    '/builtin/{*component}': [{ plugin: 'builtin' }],
    '/mock/{component}': [{ plugin: 'mock' }],
    '/ai/{*component}': [{ plugin: 'openai', conditions: [{ path: '$.m', value: 1 }] }, { plugin: 'tools', componentAllow: ['/chat'] }],
    '/svc/{name}': [{ plugin: 'tools', component: '/tools/{name}' }],
    '/run': [{ plugin: 'builtin', component: '/eval' }],
  });

  it('finds the full paths of a plugin component', () => {
    expect(r.pathsFor('builtin', '/eval').sort()).toEqual(['/builtin/eval', '/run']);
    expect(r.pathsFor('mock', '/one_output')).toEqual(['/mock/one_output']);
    expect(r.pathsFor('mock', '/a/b')).toEqual([]);
    expect(r.pathsFor('tools', '/tools/upper')).toEqual(['/svc/upper']);
    expect(r.pathsFor('tools', '/other')).toEqual([]);
  });

  it('lists routed components of every plugin, sorted, marking conditional routes', () => {
    const listed = r.routedComponents(new Map([['openai', ['/chat']], ['tools', ['/chat', '/tools/x']], ['builtin', ['/eval']]]));
    expect(listed).toEqual([
      { component: '/ai/chat', plugin: 'openai', pluginComponent: '/chat', conditional: true },
      { component: '/ai/chat', plugin: 'tools', pluginComponent: '/chat', conditional: false },
      { component: '/builtin/eval', plugin: 'builtin', pluginComponent: '/eval', conditional: false },
      { component: '/run', plugin: 'builtin', pluginComponent: '/eval', conditional: false },
      { component: '/svc/x', plugin: 'tools', pluginComponent: '/tools/x', conditional: false },
    ]);
  });

  it('leaves out paths an unconditional, more specific route always takes', () => {
    const shadowing = router({ '/{*component}': [{ plugin: 'local' }], '/builtin/{*component}': [{ plugin: 'builtin' }] });
    expect(shadowing.pathsFor('local', '/builtin/eval')).toEqual([]);
    expect(shadowing.pathsFor('local', '/x')).toEqual(['/x']);
  });

  it('says whether a component has a route', () => {
    expect(r.hasRouteFor('/builtin/eval')).toBe(true);
    expect(r.hasRouteFor('/ai/anything')).toBe(true);
    expect(r.hasRouteFor('/mock/a/b')).toBe(false);
    expect(r.hasRouteFor('/nowhere')).toBe(false);
  });
});
