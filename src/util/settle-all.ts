/**
 * `Promise.all` that waits for every promise, even after one fails: for work that reads or
 * writes files the caller closes or removes once this settles (an abort, an error).
 * @returns the values in order, once all are fulfilled
 * @throws the first rejection (in order), once every promise has settled
 */
export async function settleAll<T>(promises: Iterable<T | PromiseLike<T>>): Promise<Awaited<T>[]> {
  const settled = await Promise.allSettled(promises);
  const values: Awaited<T>[] = [];
  for (const result of settled) {
    if (result.status === 'rejected') throw result.reason;
    values.push(result.value);
  }
  return values;
}
