-- Campaigns pulled from the server (docs/campaign.md): the Home screen shows the active
-- campaign's duties and deadlines from these rows, never from constants.
CREATE TABLE campaign (
    id         TEXT PRIMARY KEY,
    area_code  TEXT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    body       TEXT NOT NULL,
    pulled_at  TEXT NOT NULL
) STRICT;
