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

/** Bench results reduced to what must not depend on interruptions: no times, dates or folders. */
export function comparableBenchRows(results: {
  rows: readonly {
    label: string;
    metrics: Record<string, unknown>;
    perTask: unknown;
    deltaM?: unknown;
    weightsSha256: readonly string[];
    configHashes: readonly string[];
  }[];
}): unknown[] {
  return results.rows.map((row) => ({
    label: row.label,
    metrics: Object.fromEntries(Object.entries(row.metrics).filter(([name]) => !name.startsWith('time.'))),
    perTask: row.perTask,
    deltaM: row.deltaM,
    weightsSha256: row.weightsSha256,
    configHashes: row.configHashes,
  }));
}
