/** The two payloads of the bench, as bench/README.md describes them: a tiny object and a 1 KiB string. */
export type PayloadName = 'small' | '1KiB';

export const PAYLOAD_NAMES: readonly PayloadName[] = ['small', '1KiB'];

const KIB_STRING = 'a'.repeat(1024);

/** A fresh payload value (fresh objects, as a decoded request would bring). */
export function payload(name: PayloadName): unknown {
  return name === 'small' ? { x: 1 } : KIB_STRING;
}

/** `n` inputs of a payload, each its own value. */
export function inputsOf(name: PayloadName, n: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = payload(name);
  return out;
}
