-- What each confirmed fact's latest confirmation says, as one word coverage compares
-- (docs/campaign.md "Coverage"): a campaign duty can count an enterprise done only when
-- its risk report is filed or was filed with help on site, its 安全专员 is present, its
-- principal was trained (`done_when.fact`). Filled by the projection
-- (`gridwalk_checklist::Confirmations::outcome`); rows projected before are derived here
-- from the JSON they hold.
ALTER TABLE enterprise_fact ADD COLUMN outcome TEXT;
UPDATE enterprise_fact SET outcome = CASE fact
    WHEN 'survey_dust' THEN
        CASE WHEN (value::jsonb ->> 'dust_seen') = 'true' THEN 'dust_seen' ELSE 'no_dust' END
    WHEN 'dust_confirmed' THEN 'confirmed'
    WHEN 'safety_officer' THEN
        CASE WHEN (value::jsonb -> 'safety_officer' ->> 'present') = 'true' THEN 'present' ELSE 'absent' END
    WHEN 'risk_report' THEN
        CASE value::jsonb ->> 'risk_report'
            WHEN 'filed_keeping_help' THEN 'filed'
            ELSE value::jsonb ->> 'risk_report'
        END
    WHEN 'training' THEN
        CASE WHEN (value::jsonb ->> 'training') = 'true' THEN 'done' ELSE 'not_done' END
END;
