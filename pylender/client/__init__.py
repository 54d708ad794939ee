"""The client: a connection and the keys that sign on it, and typed access to one deployed ledger.

``session`` (:class:`~pylender.client.session.Pylender`: embedded anvil or ``--rpc``, keys, deployments),
``ledger`` (:class:`~pylender.client.ledger.Ledger`: every ledger call behind typed methods), ``tx`` (signing and
sending, pipelined), ``journal`` (the write-ahead journal of bulk sends), ``accounts`` and ``signing`` (keys),
``node`` (the anvil process) and ``transport`` (JSON-RPC over HTTP to any node).
"""
