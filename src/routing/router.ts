import { ErrorCodes } from '../../protocol/index.js';
import {
  buildPathFromPattern,
  compareSpecificity,
  fillRouteTemplate,
  findRouteProblem,
  matchRoutePattern,
  parseRoutePattern,
  type RoutePattern,
} from './route-pattern.js';
import { formatFieldPath } from '../values/field-path.js';
import type { RouteRule } from './route-rule.js';
import { ConfigError } from '../errors.js';
import { NOT_FOUND, parsePath, PathSyntaxError, selectPath, type CompiledPath } from '../flow/paths.js';
import { ComponentError } from '../calls/component-error.js';
import { jsonEqual } from '../values/json-equal.js';

/** Where a component call goes: the plugin and the plugin-relative component name. */
export interface ResolvedRoute {
  plugin: string;
  component: string;
}

/** A component path as flows name it, and what serves it. */
export interface RoutedPath {
  /** Full path, e.g. `/builtin/eval`. */
  component: string;
  plugin: string;
  /** Plugin-relative name, e.g. `/eval`. */
  pluginComponent: string;
  /** True when the rule has conditions, so only some inputs take this way. */
  conditional: boolean;
}

interface CompiledRule {
  plugin: string;
  /** Template of the plugin-relative name; `/{component}`-like default filled in. */
  template: string;
  /** The template as a pattern, to find full paths from plugin names; undefined when it is not one. */
  templatePattern: RoutePattern | undefined;
  /** True when the template yields names without a leading `/` (`{component}` → `add`). */
  bare: boolean;
  conditions: Array<{ path: CompiledPath; value: unknown }>;
  allow: ReadonlySet<string> | undefined;
  deny: ReadonlySet<string> | undefined;
}

interface CompiledRoute {
  pattern: RoutePattern;
  rules: CompiledRule[];
}

/**
 * Routes step components to plugins (docs/routing.md). Patterns are tried from the most
 * specific (segment by segment: literal > `{x}` > `{*x}`); within a pattern, rules in order. A
 * rule applies when all its `conditions` hold on the input and the resolved name passes
 * `componentAllow` / `componentDeny`; when no rule of a pattern applies, less specific patterns
 * are tried. A condition whose path is missing in the input does not hold.
 */
export class Router {
  readonly #routes: CompiledRoute[];

  /** Validates the routes; throws ConfigError naming the route (and plugin) at fault. */
  constructor(routes: Readonly<Record<string, readonly RouteRule[]>>, pluginNames: Iterable<string>) {
    const problem = findRouteProblem(routes, pluginNames);
    if (problem) throw new ConfigError(problem.message, undefined, formatFieldPath(['routes', ...problem.path]));
    this.#routes = Object.entries(routes)
      .map(([source, rules]) => {
        const pattern = parseRoutePattern(source);
        return { pattern, rules: rules.map((rule, i) => compileRule(pattern, rule, i)) };
      })
      .sort((a, b) => compareSpecificity(a.pattern, b.pattern));
  }

  /** Where a call of `component` with `input` goes; ComponentError -32001 when no route applies. */
  resolve(component: string, input: unknown): ResolvedRoute {
    for (const route of this.#routes) {
      const captures = matchRoutePattern(route.pattern, component);
      if (!captures) continue;
      for (const rule of route.rules) {
        const name = fillRouteTemplate(rule.template, captures);
        if (isAllowed(rule, name) && rule.conditions.every((c) => conditionHolds(c, input))) return { plugin: rule.plugin, component: name };
      }
    }
    throw new ComponentError(
      { code: ErrorCodes.ComponentNotFound, message: `no route for component "${component}"`, data: { component } },
      { component },
    );
  }

  /** True when some route could take `component` (for some input: conditions are not checked). */
  hasRouteFor(component: string): boolean {
    return this.#routes.some((route) => {
      const captures = matchRoutePattern(route.pattern, component);
      return captures !== undefined && route.rules.some((rule) => isAllowed(rule, fillRouteTemplate(rule.template, captures)));
    });
  }

  /** Every plugin some route could send `component` to (for some input: conditions are not checked). */
  pluginsFor(component: string): string[] {
    const plugins = new Set<string>();
    for (const route of this.#routes) {
      const captures = matchRoutePattern(route.pattern, component);
      if (captures === undefined) continue;
      for (const rule of route.rules) if (isAllowed(rule, fillRouteTemplate(rule.template, captures))) plugins.add(rule.plugin);
    }
    return [...plugins];
  }

  /** The full paths through which flows reach a plugin's component (`/eval` → `/builtin/eval`). */
  pathsFor(plugin: string, pluginComponent: string): string[] {
    return this.#routesTo(plugin, pluginComponent).map((routed) => routed.component);
  }

  /** Every full path reachable through the routes, given each plugin's component names. */
  routedComponents(pluginComponents: ReadonlyMap<string, readonly string[]>): RoutedPath[] {
    const all: RoutedPath[] = [];
    for (const [plugin, components] of pluginComponents) {
      for (const component of components) all.push(...this.#routesTo(plugin, component));
    }
    return all.sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0));
  }

  #routesTo(plugin: string, pluginComponent: string): RoutedPath[] {
    const found = new Map<string, RoutedPath>();
    for (const route of this.#routes) {
      for (const rule of route.rules) {
        if (rule.plugin !== plugin || !rule.templatePattern || !isAllowed(rule, pluginComponent)) continue;
        // A bare template's pattern is matched with the `/` it lacks (`add` as `/add`); a name that
        // already has one (`/add`) is not what such a rule produces, so it does not match.
        const templateCaptures = matchRoutePattern(rule.templatePattern, rule.bare ? `/${pluginComponent}` : pluginComponent);
        const full = templateCaptures && buildPathFromPattern(route.pattern, templateCaptures);
        if (full === undefined || found.has(full)) continue;
        // Check the way back: the template may not be invertible (e.g. {x} inside {*x}).
        const captures = matchRoutePattern(route.pattern, full);
        if (!captures || fillRouteTemplate(rule.template, captures) !== pluginComponent) continue;
        if (this.#shadowed(full, rule)) continue;
        found.set(full, { component: full, plugin, pluginComponent, conditional: rule.conditions.length > 0 });
      }
    }
    return [...found.values()];
  }

  /** True when every call of `path` is taken by an unconditional rule before `target` is reached. */
  #shadowed(path: string, target: CompiledRule): boolean {
    for (const route of this.#routes) {
      const captures = matchRoutePattern(route.pattern, path);
      if (!captures) continue;
      for (const rule of route.rules) {
        if (rule === target) return false;
        if (rule.conditions.length === 0 && isAllowed(rule, fillRouteTemplate(rule.template, captures))) return true;
      }
    }
    return false;
  }
}

function compileRule(pattern: RoutePattern, rule: RouteRule, index: number): CompiledRule {
  // findRouteProblem guarantees a `component` capture when there is no template.
  const capture = pattern.segments.find((s) => s.kind !== 'literal' && s.name === 'component');
  const template = rule.component ?? (capture?.kind === 'rest' ? '/{*component}' : '/{component}');
  const bare = !template.startsWith('/');
  return {
    plugin: rule.plugin,
    template,
    templatePattern: templatePatternOf(bare ? `/${template}` : template, pattern),
    bare,
    conditions: (rule.conditions ?? []).map((condition, c) => ({
      path: compileConditionPath(condition.path, pattern.source, index, c),
      value: condition.value,
    })),
    allow: rule.componentAllow && new Set(rule.componentAllow.map(withLeadingSlash)),
    deny: rule.componentDeny && new Set(rule.componentDeny.map(withLeadingSlash)),
  };
}

function compileConditionPath(path: string, route: string, rule: number, condition: number): CompiledPath {
  try {
    return parsePath(path);
  } catch (err) {
    if (!(err instanceof PathSyntaxError)) throw err;
    throw new ConfigError(`route "${route}": ${err.message}`, undefined, formatFieldPath(['routes', route, rule, 'conditions', condition, 'path']));
  }
}

function conditionHolds(condition: { path: CompiledPath; value: unknown }, input: unknown): boolean {
  const actual = selectPath(input, condition.path);
  return actual !== NOT_FOUND && jsonEqual(actual, condition.value);
}

function isAllowed(rule: CompiledRule, name: string): boolean {
  const key = withLeadingSlash(name);
  return (rule.allow === undefined || rule.allow.has(key)) && !(rule.deny?.has(key) ?? false);
}

/** Allow/deny lists may name components with or without the leading slash. */
function withLeadingSlash(name: string): string {
  return name.startsWith('/') ? name : `/${name}`;
}

/**
 * The template read as a pattern, for finding full paths from plugin names. A `{name}` that
 * takes a `{*name}` capture of the route may span segments, so it reads as `{*name}` when it can.
 */
function templatePatternOf(template: string, route: RoutePattern): RoutePattern | undefined {
  const rest = new Set(route.segments.flatMap((s) => (s.kind === 'rest' ? [s.name] : [])));
  const widened = template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => (rest.has(name) ? `{*${name}}` : whole));
  return tryParsePattern(widened) ?? tryParsePattern(template);
}

function tryParsePattern(template: string): RoutePattern | undefined {
  try {
    return parseRoutePattern(template);
  } catch {
    return undefined;
  }
}
