/**
 * Per-facility API tokens for facility systems (PACS gateways, RIS). A token is
 * `enk_<id>_<secret>`; only the SHA-256 of the secret is stored, compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../platform/db/schema.ts';
import { AppError } from '../platform/errors.ts';
import type { Actor } from '../platform/context.ts';

/** Scopes a token can carry. */
export const TOKEN_SCOPES = ['dicomweb:write', 'dicomweb:read', 'orders:write', 'orders:read', 'ai:write'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

const TOKEN_RE = /^enk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * How long a token's stored row is reused before it is read again. A viewer sends its
 * token with every frame; a token revoked through this service stops at once, one revoked
 * in the database by other means within this time.
 */
const TOKEN_ROW_TTL_MS = 5_000;

type TokenRow = { facilityId: string; id: string; scopes: string[]; secretSha256: Buffer; revoked: boolean };

/** Issues and checks API tokens. */
export class TokenService {
  private readonly rows = new Map<string, { at: number; row: TokenRow }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly facilityExists: (id: string) => Promise<boolean>,
    private readonly rowTtlMs = TOKEN_ROW_TTL_MS,
  ) {}

  /**
   * Creates a token for a facility; the returned secret is shown once.
   * @throws AppError on an unknown scope or facility
   */
  async create(actor: Actor, input: { facilityId: string; name: string; scopes: string[] }): Promise<{ id: string; token: string }> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may create API tokens');
    const scopes = [...new Set(input.scopes)];
    if (scopes.length === 0) throw new AppError('bad_request', 'a token needs at least one scope');
    for (const s of scopes) {
      if (!(TOKEN_SCOPES as readonly string[]).includes(s)) throw new AppError('bad_request', `unknown scope "${s}"; known: ${TOKEN_SCOPES.join(', ')}`);
    }
    if (!(await this.facilityExists(input.facilityId))) throw new AppError('not_found', 'no such facility');
    const id = randomBytes(9).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, '0').slice(0, 12);
    const secret = randomBytes(32).toString('base64url');
    await this.db
      .insertInto('api_tokens')
      .values({ id, facility_id: input.facilityId, name: input.name, scopes: scopes.join(' '), secret_sha256: sha256(secret), created_at: new Date().toISOString(), revoked_at: null })
      .execute();
    return { id, token: `enk_${id}_${secret}` };
  }

  /**
   * Resolves a bearer token to its actor, or undefined when it is unknown, malformed or revoked.
   */
  async authenticate(token: string, address: string): Promise<Extract<Actor, { kind: 'token' }> | undefined> {
    const m = TOKEN_RE.exec(token);
    if (!m) return undefined;
    const row = await this.row(m[1]!);
    if (!row || row.revoked) return undefined;
    const a = row.secretSha256;
    const b = Buffer.from(sha256(m[2]!), 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return { kind: 'token', facilityId: row.facilityId, tokenId: row.id, scopes: [...row.scopes], address };
  }

  /** The token's stored row, read again after `rowTtlMs` (default {@link TOKEN_ROW_TTL_MS}); unknown ids are not kept. */
  private async row(id: string): Promise<TokenRow | undefined> {
    const now = Date.now();
    const kept = this.rows.get(id);
    if (kept && now - kept.at < this.rowTtlMs) return kept.row;
    const r = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) {
      this.rows.delete(id);
      return undefined;
    }
    const row: TokenRow = { facilityId: r.facility_id, id: r.id, scopes: r.scopes.split(' '), secretSha256: Buffer.from(r.secret_sha256, 'hex'), revoked: r.revoked_at !== null };
    if (this.rows.size >= 1000) this.rows.clear();
    this.rows.set(id, { at: now, row });
    return row;
  }

  /** Revokes a token. */
  async revoke(actor: Actor, id: string): Promise<void> {
    if (actor.kind !== 'system') throw new AppError('forbidden', 'only an operator may revoke API tokens');
    const r = await this.db.updateTable('api_tokens').set({ revoked_at: new Date().toISOString() }).where('id', '=', id).executeTakeFirst();
    this.rows.delete(id);
    if (Number(r.numUpdatedRows) === 0) throw new AppError('not_found', 'no such token');
  }
}
