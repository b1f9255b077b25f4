// The policy-set file format (YAML or JSON) as a zod schema: the one description of what a policy can
// say. Shapes only; cross-references, ranges and algorithm parameters are checked in policy-set.ts.

import { z } from 'zod';
import { asnListSchema, countryListSchema } from '../geo/geo-codes.js';
import { LIST_KINDS } from '../lists/list-format.js';
import { penaltySchema } from './penalty.js';

const stringList = z.array(z.string().min(1));
const stringOrList = z.union([z.string(), z.array(z.string())]);

export const SCOPES = ['ip', 'user', 'api_key', 'tenant', 'global', 'custom', 'country', 'asn'] as const;
export type Scope = (typeof SCOPES)[number];

export const LEVELS = ['global', 'tenant', 'user', 'endpoint'] as const;
export type Level = (typeof LEVELS)[number];

const identityList = z
  .object({
    ips: stringList.optional(),
    users: stringList.optional(),
    api_keys: stringList.optional(),
    tenants: stringList.optional(),
    /** ISO 3166-1 alpha-2 codes and ASNs, looked up in the operator's MaxMind databases. */
    countries: countryListSchema.optional(),
    asns: asnListSchema.optional(),
  })
  .strict();

const matchSchema = z
  .object({
    /** What the counter is kept per: one bucket per IP, per user, ... or one for everyone (global). */
    scope: z.enum(SCOPES).optional(),
    /** Key template for scope custom, e.g. "{tenant}:{header.x-client-id}". */
    key: z.string().min(1).optional(),
    /** Path pattern: "*" matches one segment, "**" any number (e.g. "/api/v1/**"). */
    path: z.string().startsWith('/').optional(),
    methods: z.array(z.string().regex(/^[A-Za-z]+$/)).optional(),
    /** Header values that must be present (names are case-insensitive; "*" means any value). */
    headers: z.record(z.string(), stringOrList).optional(),
    /** Descriptor values (Envoy-style key/value pairs the caller supplies); "*" means present. */
    descriptors: z.record(z.string(), stringOrList).optional(),
    ips: stringList.optional(),
    users: stringList.optional(),
    api_keys: stringList.optional(),
    tenants: stringList.optional(),
    /** The client's country (ISO 3166-1 alpha-2) or autonomous system, from the MaxMind databases. */
    countries: countryListSchema.optional(),
    asns: asnListSchema.optional(),
    /** Reputation classes: the request is on a list with one of these `class`es (e.g. [tor]). */
    class: stringList.optional(),
  })
  .strict();

const listName = z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits, "_", ".", ":" or "-"');

/** A named list: entries from a file (reloaded on change) and/or inline; what being on it does. */
const listSchema = z
  .object({
    name: listName,
    kind: z.enum(LIST_KINDS),
    action: z.enum(['allow', 'block']).optional(),
    /** A reputation class the list's entries belong to; policies select it with `match.class`. */
    class: listName.optional(),
    /** A list file (one entry a line, FireHOL netset, Spamhaus DROP); relative to the policy file. */
    file: z.string().min(1).optional(),
    entries: stringList.optional(),
    description: z.string().optional(),
  })
  .strict();

/** Algorithm parameters; which keys are allowed depends on `algorithm` (checked by createAlgorithm). */
const limitSchema = z.union([
  z.literal('unlimited'),
  z.object({ algorithm: z.string() }).catchall(z.union([z.number(), z.string()])),
]);

const timestamp = z.union([z.string(), z.date()]);

export const policySchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits, "_", ".", ":" or "-"'),
    description: z.string().optional(),
    level: z.enum(LEVELS).optional(),
    extends: z.string().optional(),
    overrides: stringList.optional(),
    match: matchSchema.optional(),
    limit: limitSchema.optional(),
    priority: z.number().int().optional(),
    enabled: z.boolean().optional(),
    shadow: z.boolean().optional(),
    effective_from: timestamp.optional(),
    effective_until: timestamp.optional(),
    tier: z.string().optional(),
    /** Units one request costs (default 1). */
    cost: z.number().nonnegative().optional(),
    /** Progressive penalty: block an identity this policy keeps refusing (penalty.ts). */
    penalty: penaltySchema.optional(),
  })
  .strict();

export const policySetSchema = z
  .object({
    version: z.literal(1).optional(),
    tiers: stringList.optional(),
    allow: identityList.optional(),
    block: identityList.optional(),
    lists: z.array(listSchema).optional(),
    policies: z.array(policySchema),
  })
  .strict();

export type PolicyInput = z.infer<typeof policySchema>;
export type PolicySetInput = z.infer<typeof policySetSchema>;
export type IdentityListInput = z.infer<typeof identityList>;
export type ListInput = z.infer<typeof listSchema>;
