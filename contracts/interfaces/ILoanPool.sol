// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ILoanPool
/// @notice A pool of positions in loans on one CoLendingLedger, financed by two classes of investors (ERC-20 class
/// tokens, 1:1 to principal subscribed): senior, with a fixed annual coupon on its outstanding balance, and junior,
/// the residual and the first loss. Collections pass to the classes through an exact waterfall; investors claim in
/// O(1). docs/ledger-spec.md, "Loan pools", is binding.
/// @dev Every state change writes one hash-chained audit record, as the ledger does: the event's LAST argument
/// `head` is `head_n = (uint256(keccak256(abi.encode(head_{n-1}, topic0, <every other argument of the event in
/// declaration order>))) & (2**248 - 2**56)) | n`, with `head_0 = 0` (the pool's own chain, starting at its first
/// subscription).
interface ILoanPool {
    /// @notice The pool's terms, fixed at creation.
    struct PoolTerms {
        uint16 seniorCouponBps; // senior's fixed annual coupon on its outstanding balance, ACT/365 per second
        uint16 minJuniorBps; // junior's share of all subscriptions must be >= this at the first purchase
        uint40 subscriptionEnd; // subscribe while block.timestamp <= subscriptionEnd
        uint40 purchaseEnd; // buy positions while block.timestamp <= purchaseEnd
    }

    /// @notice The pool's books (view).
    struct PoolState {
        uint256 seniorBalance; // senior outstanding principal (subscribed - principal paid - written down + restored)
        uint256 juniorBalance; // the same for junior
        uint256 seniorWrittenDown; // losses currently allocated to senior (restored first by recoveries)
        uint256 juniorWrittenDown; // losses currently allocated to junior
        uint256 seniorInterestOwed; // senior coupon accrued and not yet paid (carries forward)
        uint256 cash; // subscriptions not spent on positions (returned as principal after purchaseEnd)
        uint256 collected; // everything the pool has ever withdrawn from the ledger
        uint256 principalSeen; // the ledger's poolCollectionsOf principal + recovered at the last distribution
        uint256 lossSeen; // the ledger's accountOf(pool).loss at the last distribution
        uint256 unclaimed; // paid to the classes and not yet claimed, plus rounding dust kept by the pool
        uint40 accruedAt; // senior coupon accrued up to here (from subscriptionEnd)
    }

    // ---------------------------------------------------------------- records

    /// @notice An investor subscribed: paid `amount` in and received as many class tokens.
    /// @param investor The investor.
    /// @param cls The class (0 senior, 1 junior).
    /// @param amount The amount paid and minted.
    /// @param head The new audit head.
    event PoolSubscribed(address indexed investor, uint8 cls, uint256 amount, bytes32 head);

    /// @notice The pool bought a position through the ledger's offer `offerId` and paid its price from its cash.
    /// @param offerId The ledger's offer.
    /// @param loanId The loan.
    /// @param shareBps The share of the loan bought.
    /// @param price The price paid.
    /// @param head The new audit head.
    event PositionBought(uint256 indexed offerId, uint256 indexed loanId, uint16 shareBps, uint256 price, bytes32 head);

    /// @notice A distribution: what was collected, how it was classified and where the waterfall sent it, and the
    /// change of the loss allocated to the classes.
    /// @param collected Withdrawn from the ledger now.
    /// @param interest Interest collections (collected minus the ledger's principal and recovery credits).
    /// @param principal Principal collections (the ledger's principal and recovery credits since the last
    /// distribution, plus the cash released after purchaseEnd).
    /// @param seniorInterest Paid to senior for its coupon.
    /// @param seniorPrincipal Paid to senior as principal.
    /// @param juniorPrincipal Paid to junior as principal.
    /// @param juniorResidual Paid to junior as the residual (interest left and principal beyond both balances).
    /// @param lossChange The change of the ledger's recorded loss of the pool: positive written down (junior
    /// first), negative restored (senior first).
    /// @param head The new audit head.
    event Distributed(
        uint256 collected,
        uint256 interest,
        uint256 principal,
        uint256 seniorInterest,
        uint256 seniorPrincipal,
        uint256 juniorPrincipal,
        uint256 juniorResidual,
        int256 lossChange,
        bytes32 head
    );

    /// @notice An investor claimed what its class tokens earned.
    /// @param investor The investor.
    /// @param cls The class.
    /// @param amount The amount paid.
    /// @param head The new audit head.
    event Claimed(address indexed investor, uint8 cls, uint256 amount, bytes32 head);

    // ---------------------------------------------------------------- errors

    /// @notice Only the arranger may buy positions.
    /// @param caller The caller.
    error NotArranger(address caller);

    /// @notice The subscription window has closed.
    /// @param end Its last second.
    error SubscriptionClosed(uint256 end);

    /// @notice The purchase window has closed.
    /// @param end Its last second.
    error PurchaseClosed(uint256 end);

    /// @notice A class other than 0 (senior) or 1 (junior).
    /// @param cls The class.
    error UnknownClass(uint8 cls);

    /// @notice At the first purchase junior's share of all subscriptions is below the pool's minimum.
    /// @param juniorBps Junior's share of the subscriptions (floor).
    /// @param minBps The minimum.
    error JuniorBelowMinimum(uint256 juniorBps, uint256 minBps);

    /// @notice Nothing was collected, no cash is released and the loss did not change.
    error NothingToDistribute();

    /// @notice The caller has nothing to claim in the class.
    error NothingToClaim();

    /// @notice Only the pool's two class tokens may report a transfer.
    /// @param caller The caller.
    error NotClassToken(address caller);

    /// @notice An amount is zero.
    error ZeroAmount();

    /// @notice An address argument is zero.
    error ZeroAddress();

    /// @notice An offer's price is more than the pool's unspent subscriptions.
    /// @param price The price.
    /// @param cash The pool's cash.
    error InsufficientCash(uint256 price, uint256 cash);

    /// @notice A minimum junior share above 10,000 bps.
    /// @param minJuniorBps The minimum.
    error MinJuniorAboveWhole(uint256 minJuniorBps);

    /// @notice A call that moves tokens was re-entered.
    error ReentrantCall();

    /// @notice The pool received a different amount than it pulled or withdrew (a fee-on-transfer token).
    /// @param expected The amount expected.
    /// @param received The increase of the pool's balance.
    error UnexpectedTransferAmount(uint256 expected, uint256 received);

    // ---------------------------------------------------------------- investors

    /// @notice Subscribe `amount` to class `cls` (anyone, while now <= subscriptionEnd): pulls exactly `amount` of
    /// the settlement token and mints as many class tokens to the caller.
    /// @param cls 0 senior, 1 junior.
    /// @param amount The amount (> 0).
    function subscribe(uint8 cls, uint256 amount) external;

    /// @notice Pays the caller what its tokens of class `cls` earned and it has not claimed.
    /// @param cls The class.
    /// @return The amount paid (> 0).
    function claim(uint8 cls) external returns (uint256);

    /// @notice What `holder` could claim now in class `cls`.
    /// @param cls The class.
    /// @param holder The holder.
    /// @return The amount.
    function claimable(uint8 cls, address holder) external view returns (uint256);

    // ---------------------------------------------------------------- arranger, anyone

    /// @notice Buy the position the ledger's offer `offerId` sells to this pool (the arranger, while now <=
    /// purchaseEnd): approves the ledger for exactly the price and accepts the offer. At the first purchase junior's
    /// share of all subscriptions must be at least minJuniorBps.
    /// @param offerId The ledger's offer (its buyer is this pool).
    function buy(uint256 offerId) external;

    /// @notice Withdraw what the ledger credited the pool and pass it through the waterfall; allocate loss changes
    /// (anyone). O(1): no loop over loans or investors.
    function distribute() external;

    /// @notice Called by a class token before every transfer, mint included: checkpoints both holders' claims.
    /// @param from The sender (zero for a mint).
    /// @param to The recipient.
    function onClassTransfer(address from, address to) external;

    // ---------------------------------------------------------------- views

    /// @notice The pool's terms.
    function terms() external view returns (PoolTerms memory);

    /// @notice The pool's books.
    function state() external view returns (PoolState memory);

    /// @notice The ledger the pool holds positions on.
    function ledger() external view returns (address);

    /// @notice The settlement token (the ledger's).
    function token() external view returns (address);

    /// @notice The senior class token.
    function senior() external view returns (address);

    /// @notice The junior class token.
    function junior() external view returns (address);

    /// @notice The arranger, who alone buys positions.
    function arranger() external view returns (address);

    /// @notice The pool's audit head.
    function auditHead() external view returns (bytes32);
}
