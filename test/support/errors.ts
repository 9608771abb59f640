import { expect } from 'vitest';

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** Awaits a promise that must reject with an `errorClass`, and returns that error. */
export async function rejectionOf<E>(promise: Promise<unknown>, errorClass: ErrorClass<E>): Promise<E> {
  const error = await promise.then(
    (value) => new Error(`expected a rejection with ${errorClass.name}, got ${JSON.stringify(value)}`),
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(errorClass);
  return error as E;
}

/** Calls `fn`, which must throw an `errorClass`, and returns that error. */
export function thrownBy<E>(fn: () => unknown, errorClass: ErrorClass<E>): E {
  let error: unknown = new Error(`expected ${errorClass.name} to be thrown`);
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(errorClass);
  return error as E;
}
