// The campaign the fake backend serves: the shipped 2024 Changzhou campaign itself
// (crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json), viewed as the
// server sends it to a village's phone: deadlines at the village level.

import shipped from '../../../../crates/gridwalk-server/campaigns/changzhou-2024-dust-100day.json';
import type { CampaignView } from './types';

export const FAKE_CAMPAIGN: CampaignView = {
  id: shipped.id,
  name_zh: shipped.name_zh,
  document_no: shipped.document_no ?? null,
  issued_by: shipped.issued_by,
  starts_on: shipped.starts_on,
  ends_on: shipped.ends_on,
  active: false,
  duties: shipped.duties.map((d) => ({
    id: d.id,
    no: d.no,
    title_zh: d.title_zh,
    summary_zh: d.summary_zh,
    deadline: (d.deadlines as Record<string, string | undefined>).village ?? null,
  })),
};
