import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Counters } from '../../shared/observe/counters.ts';
import type { Logger } from '../../shared/observe/log.ts';
import { PolicyError, parsePolicy } from '../../shared/policy/policy.ts';
import { encode, PayloadTooLargeError, type Outgoing } from '../../shared/protocol/codec.ts';
import { CohortSchema, COORDINATOR_ID } from '../../shared/protocol/ids.ts';
import { TOPICS, topicFor } from '../../shared/protocol/topics.ts';
import type { Db } from '../../shared/store/sqlite.ts';
import { diffJson } from './diff.ts';
import { PolicyStore, type PolicyRecord } from './store.ts';


/** POST /api/policies. `policy` is the heal policy document (docs/healing.md); its `version` is ignored: the coordinator assigns it. */
export const PolicyPushSchema = z.strictObject({
  cohort: CohortSchema.default('default'),
  author: z.string().min(1).max(128).default('admin'),
  policy: z.record(z.string(), z.unknown()),
});
export type PolicyPush = z.input<typeof PolicyPushSchema>;

/** A policy the coordinator will not push: each problem names the rule and field (or the limit). */
export class PolicyPushError extends Error {
  readonly expected = true;
  constructor(readonly problems: string[]) {
    super(`policy not pushed: ${problems.join('; ')}`);
  }
}

export type PushResult = { record: PolicyRecord; published: true } | { record: PolicyRecord; published: false; error: string };

export const POLICY_PUSHES_METRIC = 'homeostat_policy_pushes_total';

/**
 * Policy push and history: validate, assign the next version, sign, store, publish retained on
 * fleet/policy/{cohort}. Stored before it is published: a version agents hold must never be
 * missing from history (the next push would reuse its number, and agents would ignore that push
 * as not newer). A push the broker did not take is still the cohort's latest and goes out with
 * the next republish, which runs on every (re)connect because the embedded broker keeps retained
 * messages in memory only.
 */
export class PolicyDistribution {
  readonly store: PolicyStore;

  constructor(
    private readonly o: {
      db: Db;
      signer: KeyObject;
      publish: (out: Pick<Outgoing, 'topic' | 'payload' | 'qos' | 'retain'>) => Promise<void>;
      log: Logger;
      counters: Counters;
      now?: () => number;
    },
  ) {
    this.store = new PolicyStore(o.db);
    o.counters.define(POLICY_PUSHES_METRIC, 'Policy pushes, by result (published, stored_unpublished, invalid)');
  }

  async push(req: PolicyPush): Promise<PushResult> {
    const r = PolicyPushSchema.safeParse(req);
    if (!r.success) return this.invalid(r.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`));
    const { cohort, author } = r.data;
    const { version: _, ...policy } = r.data.policy;
    try {
      parsePolicy(policy);
    } catch (e) {
      if (e instanceof PolicyError) return this.invalid(e.problems);
      throw e;
    }
    const createdAt = (this.o.now ?? Date.now)();
    let record: PolicyRecord;
    let message = '';
    try {
      record = this.store.append({ cohort, author, createdAt, policy }, (version, prev) => {
        message = encode('policy', { from: COORDINATOR_ID, agentId: cohort, body: { version, author, createdAt, policy }, signer: this.o.signer }).payload;
        return { message, diff: diffJson(prev?.policy ?? {}, policy) };
      });
    } catch (e) {
      // encode refuses a message over the payload limit; nothing was stored.
      if (e instanceof PayloadTooLargeError) return this.invalid([`the policy is too large to send (${(e as Error).message.replace(/^refusing to send "policy": /, '')}): shorten it`]);
      throw e;
    }
    try {
      await this.o.publish(this.outgoing(cohort, message));
    } catch (e) {
      const error = `stored as v${record.version} but not published (${(e as Error).message}); it goes out when the coordinator reconnects to the broker`;
      this.o.counters.inc(POLICY_PUSHES_METRIC, { result: 'stored_unpublished' });
      this.o.log.warn({ version: record.version, cohort, err: (e as Error).message }, 'policy stored, not published');
      return { record, published: false, error };
    }
    this.o.counters.inc(POLICY_PUSHES_METRIC, { result: 'published' });
    this.o.log.info({ version: record.version, cohort, author, changes: record.diff.length }, 'policy published');
    return { record, published: true };
  }

  /** Publishes each cohort's latest signed policy again, verbatim (same id, same signature). */
  async republish(): Promise<void> {
    for (const { cohort, message } of this.store.latestMessages()) {
      await this.o.publish(this.outgoing(cohort, message)).catch((e: Error) => this.o.log.warn({ cohort, err: e.message }, 'policy not republished; next reconnect tries again'));
    }
  }

  private outgoing(cohort: string, payload: string): Pick<Outgoing, 'topic' | 'payload' | 'qos' | 'retain'> {
    return { topic: topicFor('policy', cohort), payload, qos: TOPICS.policy.qos, retain: TOPICS.policy.retain };
  }

  private invalid(problems: string[]): never {
    this.o.counters.inc(POLICY_PUSHES_METRIC, { result: 'invalid' });
    throw new PolicyPushError(problems);
  }
}
