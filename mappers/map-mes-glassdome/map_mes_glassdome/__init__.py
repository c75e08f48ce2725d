"""map-mes-glassdome: the MES -> Glassdome translation as a Singer mapper."""
