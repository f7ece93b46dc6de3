import { inject } from '@angular/core';
import { CanActivateFn, Router } from '@angular/router';
import { AuthService } from './auth.service';

/** Routes behind login redirect to /login?returnUrl=… when there is no session. */
export const authGuard: CanActivateFn = (_route, state) => {
  const auth = inject(AuthService);
  if (auth.isLoggedIn()) {
    return true;
  }
  return inject(Router).createUrlTree(['/login'], { queryParams: { returnUrl: state.url } });
};

/** Roles that may write (create, refund, cancel); others are sent to the overview. */
export const writerGuard: CanActivateFn = () => {
  const auth = inject(AuthService);
  return auth.canWrite() ? true : inject(Router).createUrlTree(['/']);
};

/** /login while signed in goes to the overview. */
export const guestGuard: CanActivateFn = () => {
  const auth = inject(AuthService);
  return auth.isLoggedIn() ? inject(Router).createUrlTree(['/']) : true;
};

/** Admin pages (users, API keys): other roles are sent to the overview. */
export const adminGuard: CanActivateFn = () => {
  const auth = inject(AuthService);
  return auth.isAdmin() ? true : inject(Router).createUrlTree(['/']);
};

/** Pages for admins and operators (webhooks: operators read deliveries and resend). */
export const operatorGuard: CanActivateFn = () => {
  const auth = inject(AuthService);
  return auth.canWrite() ? true : inject(Router).createUrlTree(['/']);
};
