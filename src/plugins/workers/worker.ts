import type { ComponentInfo, WorkerInfo } from '../../../protocol/index.js';
import type { ServerConnection } from '../stepflow/server-connection.js';

/** What a worker said of itself in `workers/register` (docs/workers.md). */
export interface WorkerRegistration {
  pool: string;
  name: string;
  components: readonly ComponentInfo[];
  capacity: number;
}

/**
 * One registered worker: its session (the same `ServerConnection` a stepflow server has), what it
 * serves, and its load. The pool moves `inFlight` as it dispatches calls and settles them.
 */
export class Worker {
  readonly pool: string;
  readonly name: string;
  readonly capacity: number;
  readonly components: readonly ComponentInfo[];
  /** Component name, with and without a leading `/` → the worker's own spelling, sent in its calls. */
  private readonly spellings = new Map<string, string>();
  readonly connectedAt = new Date();
  inFlight = 0;
  /** Calls dispatched to it; the least-loaded tie-break spreads calls by it. */
  started = 0;
  callsDone = 0;
  callsFailed = 0;
  draining = false;

  constructor(
    readonly id: string,
    registration: WorkerRegistration,
    readonly connection: ServerConnection,
    readonly node: string,
  ) {
    this.pool = registration.pool;
    this.name = registration.name;
    this.capacity = registration.capacity;
    this.components = registration.components;
    for (const info of registration.components) {
      const bare = info.component.startsWith('/') ? info.component.slice(1) : info.component;
      // The worker's exact spelling wins over another's bare form (`/a` and `a` both registered).
      if (!this.spellings.has(bare)) this.spellings.set(bare, info.component);
      if (!this.spellings.has(`/${bare}`)) this.spellings.set(`/${bare}`, info.component);
      this.spellings.set(info.component, info.component);
    }
  }

  /** The worker's spelling of `component` (names match with or without a leading `/`), if it serves it. */
  spellingOf(component: string): string | undefined {
    return this.spellings.get(component);
  }

  /** Takes a new call: registered component aside, not draining, connected, below capacity. */
  get hasRoom(): boolean {
    return this.inFlight < this.capacity && !this.draining && !this.connection.isClosed;
  }

  /** How errors and logs name it. */
  get label(): string {
    return `worker "${this.name}" (${this.id}) of pool "${this.pool}"`;
  }

  info(): WorkerInfo {
    return {
      workerId: this.id,
      pool: this.pool,
      name: this.name,
      components: this.components.map((c) => c.component),
      capacity: this.capacity,
      inFlight: this.inFlight,
      callsDone: this.callsDone,
      callsFailed: this.callsFailed,
      connectedAt: this.connectedAt.toISOString(),
      draining: this.draining,
      node: this.node,
    };
  }
}
