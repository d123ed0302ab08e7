"""The migration engine: the step registry, leases, the runner, each step, the plan.

Arrows point one way: views → services | selectors → workflow → models →
partner_center. Nothing here renders a page or imports a service.
"""
