import type { ResourceHooks } from './hooks.ts';

/** One ResourceHooks that runs several in order (admission steps chain; the first answer wins for decisions). */
export function composeHooks(...all: (ResourceHooks | undefined)[]): ResourceHooks {
  const hooks = all.filter((h): h is ResourceHooks => h !== undefined);
  return {
    async admitCreate(obj, ctx) {
      for (const h of hooks) await h.admitCreate?.(obj, ctx);
    },
    async admitUpdate(obj, old, ctx, sub) {
      for (const h of hooks) await h.admitUpdate?.(obj, old, ctx, sub);
    },
    validateCreate(obj) {
      return hooks.flatMap((h) => h.validateCreate?.(obj) ?? []);
    },
    gracefulDeletion(obj, requested) {
      for (const h of hooks) if (h.gracefulDeletion !== undefined) return h.gracefulDeletion(obj, requested);
      return 0;
    },
    beforeDelete(obj, ctx) {
      for (const h of hooks) {
        const r = h.beforeDelete?.(obj, ctx);
        if (r !== undefined) return r;
      }
      return undefined;
    },
    heldBeyondFinalizers(obj) {
      return hooks.some((h) => h.heldBeyondFinalizers?.(obj) === true);
    },
    async afterDelete(obj) {
      for (const h of hooks) await h.afterDelete?.(obj);
    },
  };
}
