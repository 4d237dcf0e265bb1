"""Build the scenario's agents, each class switchable with ``<class>.enabled = false``.

The crowd is heterogeneous: each agent's parameters are drawn from the model's generator around
the scenario's values (shares from a Dirichlet, intervals and sizes log-normal, entry levels
uniform), so no two agents of a class act at the same time or level. Each agent module owns its
config and the draw of its crowd (``build_crowd``, with Mesa's ``Agent.create_agents``); this module
only calls them, in a fixed order (dealers, hedgers, CTAs, dip buyers, stop-loss sellers, leveraged
ETFs: the order of the draws from ``world.rng`` and of the agents' ``unique_id``). Every agent
registers with the world (a ``mesa.Model``), so the model finds them in ``model.agents_by_type``;
the crowds are returned as plain lists because a Mesa ``AgentSet`` holds only weak references (a
test's stub world may not outlive its crowd).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agents import cta, dealer, dip_buyer, hedger, letf, stop_seller
from agents.dip_buyer import DIP_CONTRACT_HEADROOM, dip_crowd_size

if TYPE_CHECKING:
    from agents.base import TraderAgent
    from agents.world import World

__all__ = ["DIP_CONTRACT_HEADROOM", "build_agents", "dip_crowd_size"]


def build_agents(
    world: World,
    dealers: dealer.DealerConfig,
    hedgers: hedger.HedgerConfig,
    ctas: cta.CTAConfig,
    dip_buyers: dip_buyer.DipBuyerConfig,
    stop_sellers: stop_seller.StopSellerConfig,
    letfs: letf.LeveragedETFConfig,
    prev_close_points: float,
    supports: tuple[float, ...] = (),
) -> dict[str, list[TraderAgent]]:
    """Create the enabled agent classes; return them by flow group.

    Args:
        world: the model the agents live in (see :class:`agents.world.World`).
        dealers: the option dealers' config (each class's ``enabled = False`` skips it).
        hedgers: the put buyers' config.
        ctas: the trend followers' config.
        dip_buyers: the dip buyers' config.
        stop_sellers: the stop-loss sellers' config.
        letfs: the leveraged-ETF rebalancers' config.
        prev_close_points: the prior close (dealers' and stop sellers' carried positions, dip buyers'
            contract value, the leveraged ETFs' day return).
        supports: the support levels (index points) the dip buyers' ``support_share`` bids at and
            the stop-loss sellers' ``support_share`` rests its stops under.
    """
    groups: dict[str, list[TraderAgent]] = {}
    if dealers.enabled:
        groups["dealers"] = dealer.build_crowd(world, dealers, prev_close_points)
    if hedgers.enabled:
        groups["hedgers"] = hedger.build_crowd(world, hedgers)
    if ctas.enabled:
        groups["cta"] = cta.build_crowd(world, ctas)
    if dip_buyers.enabled:
        groups["dip_buyers"] = dip_buyer.build_crowd(world, dip_buyers, prev_close_points, supports)
    if stop_sellers.enabled:
        groups["stop_sellers"] = stop_seller.build_crowd(world, stop_sellers, prev_close_points, supports)
    if letfs.enabled:
        groups["letf"] = letf.build_crowd(world, letfs, prev_close_points)
    return groups
