/**
 * The store a CLI command reads when none is named on its command line: the
 * first of the operator configuration's collector stores of the given types.
 */
import { loadOperatorConfig } from '../config/load-operator-config.js';
import type { CollectorAggregatorConfig } from '../config/schema.js';

/**
 * @example
 * const store = configuredStore(args.config, process.env, ['sqlite', 'postgres']);
 * if (store?.type === 'sqlite') open(store.file);
 */
export function configuredStore<T extends CollectorAggregatorConfig['type']>(
  configFile: string | undefined,
  env: NodeJS.ProcessEnv,
  types: readonly T[],
): Extract<CollectorAggregatorConfig, { type: T }> | undefined {
  const config = loadOperatorConfig({ ...(configFile ? { file: configFile } : {}), env });
  return config.collector.aggregators.find((a): a is Extract<CollectorAggregatorConfig, { type: T }> =>
    (types as readonly string[]).includes(a.type),
  );
}
