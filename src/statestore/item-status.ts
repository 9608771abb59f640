import type { Status } from '../../protocol/index.js';

/**
 * Item statuses as one small integer each: how `RunState` keeps them (a byte per item) and how
 * journal batches carry them to the stores (docs/state-stores.md). The one encoding of both.
 */
export const ItemStatusCode = { Pending: 0, Running: 1, Success: 2, Failed: 3, Cancelled: 4 } as const;
export type ItemStatusCode = (typeof ItemStatusCode)[keyof typeof ItemStatusCode];

/** Status names by code. */
export const ITEM_STATUS_BY_CODE = ['pending', 'running', 'success', 'failed', 'cancelled'] as const satisfies readonly Status[];

/** The code of a settled status. */
export const SETTLED_CODE = { success: ItemStatusCode.Success, failed: ItemStatusCode.Failed, cancelled: ItemStatusCode.Cancelled } as const;
