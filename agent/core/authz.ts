/**
 * Who may do what: the authorisation decision table of the agent's API (WS-337), pure.
 *
 * The database's row-level security (migrations/005_rls.sql) decides which catalog rows a user
 * sees; this table decides which actions a principal may take on a resource whose
 * organizations the caller has already resolved. Both say the same thing in two places on
 * purpose: a bug in one is caught by the other.
 *
 * Principals:
 *   service  the agent's own token (WEDSYNC_HOME/agent-token): the machine's operator, the
 *            console opened by the agent, Electron. Everything is allowed, as with the database
 *            credentials it already holds.
 *   user     a per-user token: acts as its user_profile (role, organization).
 *
 * The table (user principals; "of their organization" = every wedding the action touches
 * belongs to the user's organization — anything spanning another organization is denied):
 *   action            admin   coordinator                               viewer
 *   self.read         yes     yes                                       yes
 *   snapshots.read    yes     yes                                       yes
 *   operations.read   yes     yes                                       yes
 *   weddings.read     yes     yes                                       yes
 *   restore.preview   yes     yes                                       yes (reads only; cannot start)
 *     (a restore or preview into another database or photo store — targetUrl, targetPhotoStore — admins only)
 *   backup.emergency  yes     yes                                       no
 *   validation.run    yes     yes                                       no
 *   restore.start     yes     wedding-only on the wedding day: yes,     no
 *                             flagged wedding-day-emergency;
 *                             anything else: a second user (admin) must approve
 *   restore.approve   yes, not their own request                        no          no
 *   audit.read        yes     no                                        no
 *   settings.write    yes     no                                        no
 *   jobs.cancel       yes     no                                        no
 */

export type Role = 'admin' | 'coordinator' | 'viewer';
export type RecoveryScopeKind = 'complete' | 'selective' | 'wedding-only';

export interface ServicePrincipal {
  kind: 'service';
  /** Shown in audit rows and recovery_operations.initiated_by_label. */
  label: string;
}

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  email: string;
  role: Role;
  organizationId: string;
  /** The API token the request came with. */
  tokenId: string;
}

export type Principal = ServicePrincipal | UserPrincipal;

export const ACTIONS = [
  'self.read',
  'snapshots.read',
  'operations.read',
  'weddings.read',
  'restore.preview',
  'backup.emergency',
  'validation.run',
  'restore.start',
  'restore.approve',
  'audit.read',
  'settings.write',
  'jobs.cancel',
] as const;
export type Action = (typeof ACTIONS)[number];

/** What the action touches, resolved by the caller (from the live database and the snapshot). */
export interface Resource {
  /** Organization of each wedding touched (duplicates allowed); null: the wedding's organization is unknown. */
  organizationIds: (string | null)[];
  recoveryScope?: RecoveryScopeKind;
  /** Every wedding touched has its wedding day today. */
  weddingDay?: boolean;
  /** restore.approve: the user who asked for the pending operation. */
  requestedBy?: string | null;
  /**
   * A restore (or its preview) into another database than the live one, or writing photo files
   * to a store the request names (targetUrl / targetPhotoStore): it makes the agent connect to,
   * and write into, places of the caller's choosing — admins only.
   */
  otherTarget?: 'targetUrl' | 'targetPhotoStore';
}

export type Decision =
  | { effect: 'allow'; flags: string[]; /** the user who authorises it (recovery_operations.authorized_by), if any */ authorizedBy: string | null }
  | { effect: 'approval-required'; reason: string }
  | { effect: 'deny'; reason: string };

const ROLES: Record<Action, readonly Role[]> = {
  'self.read': ['admin', 'coordinator', 'viewer'],
  'snapshots.read': ['admin', 'coordinator', 'viewer'],
  'operations.read': ['admin', 'coordinator', 'viewer'],
  'weddings.read': ['admin', 'coordinator', 'viewer'],
  'restore.preview': ['admin', 'coordinator', 'viewer'],
  'backup.emergency': ['admin', 'coordinator'],
  'validation.run': ['admin', 'coordinator'],
  'restore.start': ['admin', 'coordinator'],
  'restore.approve': ['admin'],
  'audit.read': ['admin'],
  'settings.write': ['admin'],
  'jobs.cancel': ['admin'],
};

/** Flag on audit rows of a coordinator's wedding-day restore that ran without a second approver. */
export const WEDDING_DAY_FLAG = 'wedding-day-emergency';

const allow = (flags: string[] = [], authorizedBy: string | null = null): Decision => ({ effect: 'allow', flags, authorizedBy });
const deny = (reason: string): Decision => ({ effect: 'deny', reason });

/**
 * The decision for `principal` doing `action` on `resource`. Without a resource (lists), only
 * the role is checked: the rows listed are filtered by the database's policies.
 */
export function decide(principal: Principal, action: Action, resource?: Resource): Decision {
  if (principal.kind === 'service') return allow();
  const { role, organizationId, userId } = principal;
  if (!ROLES[action].includes(role)) return deny(`a ${role} may not ${describe(action)}`);
  if (resource) {
    if (resource.organizationIds.length === 0 && action !== 'self.read') return deny(`nothing of your organization to ${describe(action)}`);
    if (resource.organizationIds.some((o) => o === null)) return deny(`${describe(action)}: a wedding of unknown organization is involved`);
    if (resource.organizationIds.some((o) => o !== organizationId)) return deny(`${describe(action)}: it involves another organization's weddings`);
  }
  if (resource?.otherTarget && role !== 'admin') return deny(`only an admin may restore into another database or photo store (${resource.otherTarget})`);
  if (action === 'restore.start') {
    if (role === 'admin') return allow([], userId);
    if (resource?.recoveryScope === 'wedding-only' && resource.weddingDay) return allow([WEDDING_DAY_FLAG]);
    return {
      effect: 'approval-required',
      reason:
        resource?.recoveryScope === 'wedding-only'
          ? "a coordinator's wedding-only restore outside the wedding day needs an admin's approval"
          : `a ${resource?.recoveryScope ?? 'complete'} restore needs an admin's approval`,
    };
  }
  if (action === 'restore.approve') {
    if (resource?.requestedBy && resource.requestedBy === userId) return deny('a restore must be approved by a second user, not by whoever asked for it');
    return allow([], userId);
  }
  return allow();
}

function describe(action: Action): string {
  switch (action) {
    case 'self.read':
      return 'read their own profile';
    case 'snapshots.read':
      return 'read snapshots';
    case 'operations.read':
      return 'read recovery operations';
    case 'weddings.read':
      return 'read weddings';
    case 'restore.preview':
      return 'preview a restore';
    case 'backup.emergency':
      return 'start an emergency backup';
    case 'validation.run':
      return 'run validations';
    case 'restore.start':
      return 'start a restore';
    case 'restore.approve':
      return 'approve a restore';
    case 'audit.read':
      return 'read the audit log';
    case 'settings.write':
      return 'change backup settings';
    case 'jobs.cancel':
      return 'cancel backup jobs';
  }
}
