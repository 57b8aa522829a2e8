/** Records as comparable across processes: step times and timing metrics left out. */
export function comparableRecords(records: readonly Record<string, unknown>[]): unknown[] {
  return records.map((record) => {
    const { ms: _ms, ...rest } = record;
    if (Array.isArray(rest.metrics)) {
      rest.metrics = (rest.metrics as { name: string }[]).filter((m) => !m.name.startsWith('time.'));
    }
    return rest;
  });
}
