/**
 * The order pages' routes: `/orders`, `/orders/new`, `/orders/:id`, `/patients/:id`,
 * `/reconciliation`, `/contracts`. Only internal ids appear in paths (no PHI in URLs).
 * Returns undefined for paths that are not the order pages'.
 */
import type { ReactNode } from 'react';
import type { SessionUser } from '../../../shared/api.ts';
import { ForbiddenPage, NotFoundPage } from '../../app/StatusPages.tsx';
import { canReadContracts, canReadOrders, canReconcile, canUseOrderForm } from './access.ts';
import { ContractPage } from './ContractPage.tsx';
import { OrderDetailPage } from './OrderDetailPage.tsx';
import { OrderFormPage } from './OrderFormPage.tsx';
import { OrderListPage } from './OrderListPage.tsx';
import { PatientPage } from './PatientPage.tsx';
import { ReconciliationPage } from './ReconciliationPage.tsx';

export function orderRoute(path: string, user: SessionUser): ReactNode | undefined {
  const only = (allowed: boolean, page: ReactNode) => (allowed ? page : <ForbiddenPage />);
  switch (path) {
    case '/orders':
      return only(canReadOrders(user), <OrderListPage />);
    case '/orders/new':
      return only(canUseOrderForm(user), <OrderFormPage />);
    case '/reconciliation':
      return only(canReconcile(user), <ReconciliationPage />);
    case '/contracts':
      return only(canReadContracts(user), <ContractPage />);
  }
  const order = /^\/orders\/([^/]+)$/.exec(path);
  if (order) {
    const id = decode(order[1]!);
    return id === null ? <NotFoundPage /> : only(canReadOrders(user), <OrderDetailPage key={id} orderId={id} />);
  }
  const patient = /^\/patients\/([^/]+)$/.exec(path);
  if (patient) {
    const id = decode(patient[1]!);
    return id === null ? <NotFoundPage /> : <PatientPage key={id} patientId={id} />;
  }
  return undefined;
}

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
