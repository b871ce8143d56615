"""The report stage: Table 1, Figures 2-12, theory vs measurement and a verdict per claim,
rebuilt from what MLflow holds for a study's latest sweep.

* :mod:`~glorot.report.records`      the report's data: runs, series, cells, panels, verdicts
* :mod:`~glorot.report.collect`      runs, metric histories and histograms from MLflow
* :mod:`~glorot.report.table1`       Table 1 (learning rate chosen on validation error)
* :mod:`~glorot.report.significance` Welch's t-test and McNemar's exact test (p = 0.005, scipy.stats)
* :mod:`~glorot.report.power`        the power of both tests
* :mod:`~glorot.report.comparable`   like with like, and chance
* :mod:`~glorot.report.figures`      the paper's figures drawn from records
* :mod:`~glorot.report.figure_set`   which runs feed each figure; the figures drawn or not run
* :mod:`~glorot.report.curves`       Figures 11-12's learning curves and ``curves.csv``
* :mod:`~glorot.report.costsurface`  Figure 5's own small experiment
* :mod:`~glorot.report.theory`       the variance argument against the measurements
* :mod:`~glorot.report.verdicts`     reproduced / not reproduced / not run, per claim
* :mod:`~glorot.report.document`     the report's text as blocks
* :mod:`~glorot.report.render`       report.md and a self-contained report.html
* :mod:`~glorot.report.build`        puts them together; :mod:`~glorot.report.commands` is ``glorot report``
"""
