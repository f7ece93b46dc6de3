import { Routes } from '@angular/router';
import { adminGuard, authGuard, guestGuard, operatorGuard, writerGuard } from './core/auth.guard';
import { LoginPage } from './pages/login';

export const routes: Routes = [
  { path: 'login', component: LoginPage, canActivate: [guestGuard], title: 'Sign in · Paymon' },
  {
    path: '',
    canActivate: [authGuard],
    children: [
      { path: '', pathMatch: 'full', loadComponent: () => import('./pages/overview').then((m) => m.OverviewPage), title: 'Overview · Paymon' },
      { path: 'payments', loadComponent: () => import('./pages/payments').then((m) => m.PaymentsPage), title: 'Payments · Paymon' },
      {
        path: 'payments/new',
        canActivate: [writerGuard],
        loadComponent: () => import('./pages/payment-new').then((m) => m.PaymentNewPage),
        title: 'New test payment · Paymon',
      },
      { path: 'payments/:id', loadComponent: () => import('./pages/payment-detail').then((m) => m.PaymentDetailPage), title: 'Payment · Paymon' },
      { path: 'logs', loadComponent: () => import('./pages/logs').then((m) => m.LogsPage), title: 'Logs · Paymon' },
      { path: 'alerts', loadComponent: () => import('./pages/alerts').then((m) => m.AlertsPage), title: 'Alerts · Paymon' },
      {
        path: 'webhooks',
        canActivate: [operatorGuard],
        loadComponent: () => import('./pages/webhooks').then((m) => m.WebhooksPage),
        title: 'Webhooks · Paymon',
      },
      { path: 'admin/users', canActivate: [adminGuard], loadComponent: () => import('./pages/users').then((m) => m.UsersPage), title: 'Users · Paymon' },
      {
        path: 'admin/api-keys',
        canActivate: [adminGuard],
        loadComponent: () => import('./pages/api-keys').then((m) => m.ApiKeysPage),
        title: 'API keys · Paymon',
      },
    ],
  },
  { path: '**', redirectTo: '' },
];
