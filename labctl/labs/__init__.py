"""The labs: one module per lab, each measuring one behaviour a lesson teaches.

The lab protocol every lab follows:

1. a module here with a ``run_*`` function that takes the runtime, the chosen servers and its
   options, starts and stops what it needs (never printing), and returns one JSON-ready document
   whose ``schema`` is declared in ``labctl.results.documents``;
2. the lesson's predictions for it as data (``labctl.labs.predictions`` scores a learner's own);
3. a renderer for that schema in ``labctl.labs.render``, registered in the output layer;
4. one registration line in ``labctl.commands.lab_cmd``.
"""
