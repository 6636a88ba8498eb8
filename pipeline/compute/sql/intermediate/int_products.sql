-- Product rows summed to organisation level (volume-weighted indicators sum numerators and denominators).
-- `product_rows` is the set of product rows the indicator at hand uses (engine: rows left out for a missing
-- component are not in it; see docs/indicators.md, "Rows left out").
SELECT
    org_code, year, submission_id,
    count(*)                                          AS n_products,
    sum(n_instroom_zaken)                             AS n_instroom_zaken,
    sum(n_besluiten)                                  AS n_besluiten,
    sum(n_besluiten_tijdig)                           AS n_besluiten_tijdig,
    sum(doorlooptijd_mediaan * n_besluiten)           AS doorlooptijd_gewogen,
    sum(CASE WHEN doorlooptijd_mediaan IS NOT NULL THEN n_besluiten END) AS n_besluiten_met_doorlooptijd,
    sum(n_voorraad_eind)                              AS n_voorraad_eind,
    sum(n_bezwaren_ontvangen)                         AS n_bezwaren_ontvangen,
    sum(n_bezwaren_afgehandeld)                       AS n_bezwaren_afgehandeld,
    sum(n_bezwaren_gegrond + n_bezwaren_deels_gegrond) AS n_bezwaren_gegrond_totaal,
    sum(n_bezwaren_tijdig)                            AS n_bezwaren_tijdig,
    sum(n_klachten)                                   AS n_klachten,
    sum(n_klachten_afgehandeld)                       AS n_klachten_afgehandeld,
    sum(n_klachten_tijdig)                            AS n_klachten_tijdig,
    sum(n_aanvragen_totaal)                           AS n_aanvragen_totaal,
    sum(n_aanvragen_digitaal)                         AS n_aanvragen_digitaal,
    sum(n_mutaties)                                   AS n_mutaties,
    sum(n_mutaties_stp)                               AS n_mutaties_stp,
    sum(apparaatskosten_product)                      AS apparaatskosten_product,
    sum(n_producten)                                  AS n_producten
FROM product_rows
GROUP BY org_code, year, submission_id
