/**
 * Waits for `task`, but at most `ms`: past it, rejects with `late()`. The task itself goes on (nothing here can
 * cancel it); its later rejection is handled, so it never becomes an unhandled rejection.
 *
 * @example
 * const body = await withDeadline(request.arrayBuffer(), 30_000, () => new Error('body too slow'));
 */
export async function withDeadline<T>(task: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    return await Promise.race([task, expired]);
  } finally {
    clearTimeout(timer);
  }
}
