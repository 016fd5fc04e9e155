/** Queries and changes of the orders module (`/api/orders`, `/api/patients`, `/api/reconciliation`, `/api/facilities/:id/contract`). */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type {
  ConsultationMessage,
  FacilityContractTerms,
  FacilityContractVersionView,
  FacilityContractView,
  FacilitySummary,
  Jj1017View,
  LinkedStudyView,
  OptOutRequest,
  OptOutView,
  OptOutWithdrawRequest,
  OrderDetail,
  OrderFormRequest,
  OrderFormResponse,
  OrderList,
  OrderSummary,
  PatientDetail,
  PatientLinkRequest,
  PatientLinkView,
  ProtocolView,
  ReconcileLinkRequest,
  ReconciliationQueue,
  ReconcileUnlinkRequest,
} from '../../../shared/api.ts';
import { api } from '../../api/client.ts';

export const ORDERS_PAGE_SIZE = 25;

export interface OrderFilters {
  status: string;
  modality: string;
  priority: string;
  /** Tokyo dates `YYYY-MM-DD` of the request, both included. */
  from: string;
  to: string;
}

export const NO_ORDER_FILTERS: OrderFilters = { status: '', modality: '', priority: '', from: '', to: '' };

const id = (value: string) => encodeURIComponent(value);

/** An order in the list: `GET /api/orders` adds the JJ1017 code in words to each summary (as the order screen shows it). */
export type OrderListEntry = OrderSummary & { jj1017?: Jj1017View | null };

/** A page of the order list. */
export type OrderListPage = OrderList & { orders: OrderListEntry[] };

export function useOrders(filters: OrderFilters, page: number) {
  return useQuery({
    queryKey: ['orders', 'list', filters, page],
    queryFn: ({ signal }) =>
      api.get<OrderListPage>('/api/orders', {
        query: { ...filters, modality: filters.modality.trim().toUpperCase(), limit: ORDERS_PAGE_SIZE, offset: (page - 1) * ORDERS_PAGE_SIZE },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
}

export function useOrder(orderId: string) {
  return useQuery({ queryKey: ['orders', 'detail', orderId], queryFn: ({ signal }) => api.get<OrderDetail>(`/api/orders/${id(orderId)}`, { signal }) });
}

export function useOrderMessages(orderId: string) {
  return useQuery({
    queryKey: ['orders', 'messages', orderId],
    queryFn: ({ signal }) => api.get<ConsultationMessage[]>(`/api/orders/${id(orderId)}/messages`, { signal }),
    staleTime: 0,
  });
}

export function usePostMessage(orderId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (text: string) => api.post<ConsultationMessage>(`/api/orders/${id(orderId)}/messages`, { text }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['orders', 'messages', orderId] }),
  });
}

export function useSetProtocol(orderId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (text: string) => api.put<ProtocolView>(`/api/orders/${id(orderId)}/protocol`, { text }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['orders', 'detail', orderId] }),
  });
}

export function useSubmitOrder() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: OrderFormRequest) => api.post<OrderFormResponse>('/api/orders', request),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['orders'] }),
  });
}

export function useReconciliation(facilityId: string) {
  return useQuery({
    queryKey: ['reconciliation', facilityId],
    queryFn: ({ signal }) => api.get<ReconciliationQueue>('/api/reconciliation', { query: { facilityId, limit: 200 }, signal }),
    staleTime: 0,
  });
}

export function useReconcileLink() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: ReconcileLinkRequest) => api.post<LinkedStudyView>('/api/reconciliation/link', request),
    onSuccess: () => Promise.all([queryClient.invalidateQueries({ queryKey: ['reconciliation'] }), queryClient.invalidateQueries({ queryKey: ['orders'] })]),
  });
}

export function useReconcileUnlink() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: ReconcileUnlinkRequest) => api.post<unknown>('/api/reconciliation/unlink', request),
    onSuccess: () => Promise.all([queryClient.invalidateQueries({ queryKey: ['reconciliation'] }), queryClient.invalidateQueries({ queryKey: ['orders'] })]),
  });
}

/** Every facility, for those who may list them; `enabled` false otherwise (facility staff use their grants). */
export function useAllFacilities(enabled: boolean) {
  return useQuery({
    queryKey: ['admin', 'facilities'],
    queryFn: () => api.get<FacilitySummary[]>('/api/admin/facilities'),
    staleTime: 5 * 60_000,
    enabled,
  });
}

export function useContract(facilityId: string) {
  return useQuery({
    queryKey: ['contracts', facilityId],
    queryFn: ({ signal }) => api.get<FacilityContractView>(`/api/facilities/${id(facilityId)}/contract`, { signal }),
    enabled: facilityId !== '',
  });
}

export function useContractHistory(facilityId: string) {
  return useQuery({
    queryKey: ['contracts', facilityId, 'history'],
    queryFn: ({ signal }) => api.get<FacilityContractVersionView[]>(`/api/facilities/${id(facilityId)}/contract/history`, { signal }),
    enabled: facilityId !== '',
  });
}

export function useSaveContract(facilityId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (terms: FacilityContractTerms) => api.put<FacilityContractView>(`/api/facilities/${id(facilityId)}/contract`, terms),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['contracts', facilityId] }),
  });
}

export function usePatient(patientId: string) {
  return useQuery({ queryKey: ['patients', patientId], queryFn: ({ signal }) => api.get<PatientDetail>(`/api/patients/${id(patientId)}`, { signal }) });
}

export function usePatientLink() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: PatientLinkRequest) => api.post<PatientLinkView>('/api/patients/links', request),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['patients'] }),
  });
}

export function usePatientUnlink() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ linkId, reason }: { linkId: string; reason: string }) => api.delete<unknown>(`/api/patients/links/${id(linkId)}`, { body: { reason } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['patients'] }),
  });
}

export function useRecordOptOut(patientId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: OptOutRequest) => api.post<OptOutView>(`/api/patients/${id(patientId)}/opt-out`, request),
    onSuccess: () => Promise.all([queryClient.invalidateQueries({ queryKey: ['patients'] }), queryClient.invalidateQueries({ queryKey: ['orders'] })]),
  });
}

export function useWithdrawOptOut(patientId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (request: OptOutWithdrawRequest) => api.post<OptOutView>(`/api/patients/${id(patientId)}/opt-out/withdraw`, request),
    onSuccess: () => Promise.all([queryClient.invalidateQueries({ queryKey: ['patients'] }), queryClient.invalidateQueries({ queryKey: ['orders'] })]),
  });
}
