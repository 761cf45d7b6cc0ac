/**
 * Authentication and authorization, before any route runs: every request's
 * target is parsed (a target that does not parse is refused with its 400)
 * and, when there is anything to check, it passes the gate (access.ts).
 * Also the review APIs that ask the same authorizer (reviews.ts).
 */
import type { Access } from '../access.js';
import { requestInfo } from '../request.js';
import { registerReviews } from '../reviews.js';
import { appWide } from './app-wide.js';

export interface AuthorizationPluginOptions {
  access: Access;
}

export const authorizationPlugin = appWide<AuthorizationPluginOptions>(
  'authentication and authorization',
  async (app, { access }) => {
    app.addHook('onRequest', (req, _reply, done) => {
      try {
        requestInfo(req.raw);
        if (access.checks) access.gate(req.raw);
        done();
      } catch (err) {
        done(err as Error);
      }
    });
    registerReviews(app, {
      authorizer: access.authorizer,
      rbac: access.rbac,
      userOf: (req) => access.userOf(req),
    });
  },
);
