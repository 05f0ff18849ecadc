import { z } from 'zod';

/**
 * Names of services, probes, rules and commands appear in rules, audit records, metric labels and
 * file names: one conservative grammar for all of them.
 */
export const HealNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, '1-63 chars of letters, digits, . _ -, starting with a letter or digit');
