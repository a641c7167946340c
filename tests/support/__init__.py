"""What the test packages and the benches share; test modules and conftest files import it, never each other.

- ``environment``: CI or not, skipping (or failing under CI) for a missing program, free ports;
- ``databases``: SQLite and PostgreSQL databases made for a test, emptied and dropped;
- ``store_fixtures``: the store's engine fixtures on both backends, imported by the conftests that need them;
- ``shipped``: the shipped element sets, stations and window starts the tests run on;
- ``worlds``: the seeded networks of the store and API tests;
- ``commands``: ``groundshare`` run in a subprocess or in-process;
- ``served``: ``groundshare serve`` as a real process, its network clock, a world seeded through it;
- ``dashboard``: the served demo network in headless Chromium, and what goes wrong in the page;
- ``race`` and ``storm``: booking races in the store and over HTTP;
- ``hamlib``: Hamlib's dummy ``rotctld``/``rigctld`` daemons;
- ``proxy``: a loopback proxy that alters one route's answers;
- ``clocks``: clocks that jump over every wait, for the agent's logic;
- ``problems``: seeded random scheduling problems and a brute-force optimum;
- ``direwolf`` and ``orbit_sites``: Dire Wolf on generated AX.25 audio; CelesTrak and Space-Track played on loopback.

Fixtures stay in the ``conftest.py`` files (``store_fixtures`` is imported into them); these modules hold what
fixtures and tests build on.
"""
