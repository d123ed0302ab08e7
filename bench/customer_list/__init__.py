"""The customer list at 10,000 customers and the progress poll with 200 running
migrations: p95 time and queries per request, read against their bounds.

The estate: 10,000 customers, 50,000 subscriptions (five each, one in five
customers with one on a retired SKU), about 116,000 users. Sizes can be changed
with BENCH_LIST_CUSTOMERS (10000) and BENCH_LIST_REQUESTS (20 per figure).

`estate` builds the rows, `timing` measures, `pages` and `poll` take the figures
and `suite` runs them in one pass.
"""

from bench.customer_list.poll import busy_worker
from bench.customer_list.suite import run

__all__ = ["busy_worker", "run"]
