export { DASHBOARD_CSP, DASHBOARD_PATHS, registerDashboard } from './dashboard-routes.js';
