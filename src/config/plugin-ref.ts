/** A plugin reference in a config: `{ name, options }` (a bare name is shorthand, see resolve.ts). */
import { z } from 'zod';

export const pluginRefSchema = z.strictObject({
  name: z.string().min(1),
  options: z.record(z.string(), z.unknown()).default({}),
});

export type PluginRef = z.output<typeof pluginRefSchema>;
