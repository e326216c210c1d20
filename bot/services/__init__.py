"""Services: what a visitor's turn and an operator's command do, over the stores and integrations.

Each service is an object built once by the composition root (`bot.app`)
from the stores and clients it needs; nothing here reads configuration.
"""
