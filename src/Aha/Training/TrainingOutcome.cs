namespace Aha.Training;

/// <summary>How a training run ended.</summary>
public enum TrainingOutcome
{
    /// <summary>All steps ran; the last one was saved.</summary>
    Completed,
    /// <summary>Cancelled (Ctrl-C, SIGTERM); a checkpoint of the last finished step was saved.</summary>
    Interrupted,
    /// <summary>Too many non-finite steps in a row; nothing was saved after the last good checkpoint.</summary>
    Diverged,
}
