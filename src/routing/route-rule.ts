/** One rule of a route (docs/routing.md). */
export interface RouteRule {
  plugin: string;
  /** Template of the plugin-relative name, e.g. `/{component}`, or `{component}` for a bare `add`; default `/` + the `component` capture. */
  component?: string;
  /** All must hold for the rule to apply. */
  conditions?: RouteCondition[];
  /** When set, only these resolved names go through this rule. */
  componentAllow?: string[];
  /** Resolved names that never go through this rule. */
  componentDeny?: string[];
}

/** `path` (JSONPath subset, `$.a.b[0]`) into the step input must deep-equal `value`. */
export interface RouteCondition {
  path: string;
  value: unknown;
}
