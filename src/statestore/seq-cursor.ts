/**
 * The cursors of `runs/list` and `flows/list` (docs/protocol.md): the seq where the next page
 * starts, in base 36, opaque to clients. One encoding, so every lister and check agrees on it.
 */
export function encodeSeqCursor(seq: number): string {
  return Number(seq).toString(36);
}

/** The seq a cursor names, or null when it is not one of ours. */
export function decodeSeqCursor(cursor: string): number | null {
  return isSeqCursor(cursor) ? Number.parseInt(cursor, 36) : null;
}

/** Whether `cursor` could have come from {@link encodeSeqCursor}. */
export function isSeqCursor(cursor: string): boolean {
  return /^[0-9a-z]{1,11}$/.test(cursor);
}
