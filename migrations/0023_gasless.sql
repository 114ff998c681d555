-- Onboarding without crypto skills (issue 17): coins bought before a wallet, gift permits.

-- ---------------------------------------------------------------- coins before a wallet
-- A coin payment of an account without a linked wallet has no wallet; once paid its mint waits
-- ('waiting') and goes to the first wallet the account links ('claimed', wallet set, the relayer's
-- mint request enqueued with the payment's payment_ref). A full refund or a dispute before the
-- claim cancels it ('cancelled': nothing is ever minted). NULL: the coins had a wallet from the start
-- (or the payment is for credits).
ALTER TABLE payments DROP CONSTRAINT payments_check;
ALTER TABLE payments ADD COLUMN claim_status text CHECK (claim_status IN ('waiting', 'claimed', 'cancelled'));
ALTER TABLE payments ADD CONSTRAINT payments_coins_wallet CHECK (
    kind = 'credits' OR wallet IS NOT NULL OR claim_status IS DISTINCT FROM 'claimed'
);
ALTER TABLE payments ADD CONSTRAINT payments_claim_coins CHECK (claim_status IS NULL OR kind = 'coins');
CREATE INDEX payments_waiting ON payments (user_id) WHERE claim_status = 'waiting';

-- ---------------------------------------------------------------- gasless gifts
-- A gift may carry the fan's EIP-2612 permit of the Coin for the TipRouter (checked by the API:
-- owner = sender, spender = the router, value >= amount, deadline ahead); the relayer counts it as
-- allowance and settles the batch with TipRouter.settle_with_permits, which applies it first.
ALTER TABLE tip_intents
    ADD COLUMN permit_value numeric(78, 0) CHECK (permit_value >= amount),
    ADD COLUMN permit_deadline numeric(78, 0) CHECK (permit_deadline > 0),
    ADD COLUMN permit_signature text CHECK (permit_signature ~ '^0x[0-9a-f]{130}$');
ALTER TABLE tip_intents ADD CONSTRAINT tip_intents_permit_whole CHECK (
    (permit_signature IS NULL AND permit_value IS NULL AND permit_deadline IS NULL)
    OR (permit_signature IS NOT NULL AND permit_value IS NOT NULL AND permit_deadline IS NOT NULL AND kind = 1)
);
