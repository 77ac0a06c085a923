-- Whether a knockout rule screened the applicant out at signup: the first step of the fairness
-- report. Set by the screening result itself, whatever writes it.
ALTER TABLE applications ADD COLUMN screened_out BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE applications SET screened_out = TRUE WHERE id IN
    (SELECT application_id FROM screening_results WHERE outcome = 'rejected');

CREATE TRIGGER screened_out_follows AFTER INSERT ON screening_results
WHEN NEW.outcome = 'rejected'
BEGIN
    UPDATE applications SET screened_out = TRUE WHERE id = NEW.application_id;
END;
