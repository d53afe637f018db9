"""The results wing: what a run produces and how it is kept and shown.

``documents`` declares every JSON document's keys, ``store`` saves and finds them, ``diff``
compares two, ``render`` draws them in the terminal, ``export`` writes CSV and pictures,
``report`` the HTML page, ``hostinfo`` the facts about this machine stored with each.
"""
