import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IntrusiveList } from '../../src/signals/intrusive-list.js';

class Node {
  prev: Node | undefined;
  next: Node | undefined;
  constructor(readonly n: number) {}
}

describe('IntrusiveList', () => {
  it('keeps members newest first, removes from anywhere, and ignores a second removal', () => {
    const list = new IntrusiveList<Node>();
    const nodes = [0, 1, 2, 3].map((n) => new Node(n));
    nodes.forEach((node) => list.add(node));
    list.remove(nodes[2]);
    list.remove(nodes[2]);
    list.remove(nodes[3]);
    expect(list.find((node) => node.n === 2)).toBeUndefined();
    expect(list.takeAll().map((node) => node.n)).toEqual([1, 0]);
    expect(list.isEmpty).toBe(true);
  });

  it('names its only member, and none when it has two or none', () => {
    const list = new IntrusiveList<Node>();
    const a = new Node(1);
    const b = new Node(2);
    expect(list.only).toBeUndefined();
    list.add(a);
    expect(list.only).toBe(a);
    list.add(b);
    expect(list.only).toBeUndefined();
    list.remove(a);
    expect(list.only).toBe(b);
  });

  it('holds what a Set would for any sequence of adds and removes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 19 })), { maxLength: 200 }), (ops) => {
        const nodes = Array.from({ length: 20 }, (_, n) => new Node(n));
        const list = new IntrusiveList<Node>();
        const model = new Set<Node>();
        for (const [add, i] of ops) {
          if (add && !model.has(nodes[i])) {
            list.add(nodes[i]);
            model.add(nodes[i]);
          } else if (!add) {
            list.remove(nodes[i]);
            model.delete(nodes[i]);
          }
        }
        expect(list.takeAll().sort((x, y) => x.n - y.n)).toEqual([...model].sort((x, y) => x.n - y.n));
      }),
    );
  });
});
