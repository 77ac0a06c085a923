-- Two more ends of an offer: `withdrawn` when the applicant leaves the offered stage another way
-- (rejected, withdrawn) while it is open, and `released` when a member who took a seat leaves
-- before going live: the seat is free again, for the cohort's waitlist. `seats_given` counts
-- every seat ever taken, for the cohort's funnel, while `seats_taken` counts those held now.
ALTER TABLE offers DROP CONSTRAINT offers_status_check;
ALTER TABLE offers ADD CONSTRAINT offers_status_check
    CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'waitlisted', 'withdrawn',
                      'released'));

ALTER TABLE cohorts ADD COLUMN seats_given BIGINT NOT NULL DEFAULT 0;
UPDATE cohorts SET seats_given = seats_taken;
