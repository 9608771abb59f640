/** A member of an {@link IntrusiveList}: the list keeps its links in the member itself. */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
}

/**
 * A doubly linked list whose links live in its members, newest first: adding and removing cost a
 * few field writes, no hashing and no allocation (the hot path adds and removes one member per
 * component call). A member belongs to at most one list at a time.
 */
export class IntrusiveList<T extends Linked<T>> {
  private head: T | undefined;

  get isEmpty(): boolean {
    return this.head === undefined;
  }

  /** The only member, when there is exactly one. */
  get only(): T | undefined {
    return this.head !== undefined && this.head.next === undefined ? this.head : undefined;
  }

  add(member: T): void {
    member.prev = undefined;
    member.next = this.head;
    if (this.head !== undefined) this.head.prev = member;
    this.head = member;
  }

  /** Removes a member of this list; a member already removed (or never added) is left alone. */
  remove(member: T): void {
    const { prev, next } = member;
    if (prev === undefined && this.head !== member) return;
    if (prev !== undefined) prev.next = next;
    else this.head = next;
    if (next !== undefined) next.prev = prev;
    member.prev = member.next = undefined;
  }

  /** The first member (newest first) that `match` accepts. */
  find(match: (member: T) => boolean): T | undefined {
    for (let m = this.head; m !== undefined; m = m.next) if (match(m)) return m;
    return undefined;
  }

  /** Empties the list and returns its members, newest first. */
  takeAll(): T[] {
    const members: T[] = [];
    for (let m = this.head; m !== undefined; ) {
      const next = m.next;
      m.prev = m.next = undefined;
      members.push(m);
      m = next;
    }
    this.head = undefined;
    return members;
  }
}
