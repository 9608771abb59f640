import { describe, expect, it } from 'vitest';
import { TurnBudget } from '../../src/runs/turn-budget.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const microtasks = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

describe('TurnBudget', () => {
  it('lets perTurn callers through per turn of the event loop, the rest later in arrival order', async () => {
    const budget = new TurnBudget(2);
    const through: number[] = [];
    for (let i = 0; i < 5; i++) void budget.take().then(() => through.push(i));
    await microtasks();
    expect(through).toEqual([0, 1]);
    await nextTurn();
    await microtasks();
    expect(through).toEqual([0, 1, 2, 3]);
    await nextTurn();
    await microtasks();
    expect(through).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives a fresh budget in a later turn', async () => {
    const budget = new TurnBudget(1);
    await budget.take();
    await nextTurn();
    await nextTurn();
    let passed = false;
    void budget.take().then(() => (passed = true));
    await microtasks();
    expect(passed).toBe(true);
  });
});
