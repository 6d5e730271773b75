"""The viewer's words in English, German and French, in one place: page text, element and country
names, month names and number formatting. Field labels live in ``passport/labels.py``."""

from __future__ import annotations

from batterytrace.passport.labels import LANGUAGES

__all__ = ["LANGUAGES", "country", "element", "fmt_number", "month", "negotiate", "t"]

LANG_NAMES = {"en": "English", "de": "Deutsch", "fr": "Français"}

# key → (en, de, fr); "{x}" placeholders are filled by t(key, lang, x=...)
_TEXT: dict[str, tuple[str, str, str]] = {
    "site": ("battery passport", "Batteriepass", "passeport de batterie"),
    "skip": ("Skip to content", "Zum Inhalt springen", "Aller au contenu"),
    "signin": ("Sign in", "Anmelden", "Se connecter"),
    "signin_li": ("Sign in (repairers, recyclers, authorities)", "Anmelden (Werkstätten, Recycler, Behörden)",
                  "Se connecter (réparateurs, recycleurs, autorités)"),
    "signout": ("Sign out", "Abmelden", "Se déconnecter"),
    "access": ("Access", "Zugriff", "Accès"),
    "level.public": ("public", "öffentlich", "public"),
    "level.legitimate_interest": ("legitimate interest (repairer, recycler)", "berechtigtes Interesse (Werkstatt, Recycler)",
                                  "intérêt légitime (réparateur, recycleur)"),
    "level.commission": ("European Commission", "Europäische Kommission", "Commission européenne"),
    "level.authorities": ("notified body or market surveillance authority", "notifizierte Stelle oder Marktüberwachung",
                          "organisme notifié ou autorité de surveillance du marché"),
    "level.participant": ("economic operator", "Wirtschaftsakteur", "opérateur économique"),
    "language": ("Language", "Sprache", "Langue"),
    "footer": ("Data from the signed battery passport and the public transparency log. EU Battery Regulation (EU) 2023/1542.",
               "Daten aus dem signierten Batteriepass und dem öffentlichen Transparenzprotokoll. EU-Batterieverordnung (EU) 2023/1542.",
               "Données du passeport de batterie signé et du journal public de transparence. Règlement (UE) 2023/1542 relatif aux batteries."),
    "verified": ("Verified", "Geprüft", "Vérifié"),
    "issued_by": ("issued by {who}", "ausgestellt von {who}", "émis par {who}"),
    "in_log": ("recorded in the public log", "im öffentlichen Protokoll verzeichnet", "inscrit au journal public"),
    "anchored": ("anchored on chain", "in der Blockchain verankert", "ancré sur la chaîne"),
    "anchor_unchecked": ("chain anchor not checked here", "Blockchain-Verankerung hier nicht geprüft",
                         "ancrage sur la chaîne non vérifié ici"),
    "what_checked": ("What was checked", "Was geprüft wurde", "Ce qui a été vérifié"),
    "figures_summary": ("{v} figures re-computed from the ledger; {d} only declared by the manufacturer",
                        "{v} Angaben aus dem Register nachgerechnet; {d} nur vom Hersteller erklärt",
                        "{v} chiffres recalculés à partir du registre ; {d} seulement déclarés par le fabricant"),
    "figure.verified": ("verified", "geprüft", "vérifié"),
    "figure.declared": ("declared by the manufacturer", "vom Hersteller erklärt", "déclaré par le fabricant"),
    "technical": ("Technical details", "Technische Details", "Détails techniques"),
    "check.passed": ("passed", "bestanden", "réussi"),
    "check.absent": ("not present", "nicht vorhanden", "absent"),
    "check.not checked": ("not checked", "nicht geprüft", "non vérifié"),
    "none": ("none declared", "keine angegeben", "aucun déclaré"),
    "not_recorded": ("not recorded yet (no lifecycle event has stated it)",
                     "noch nicht erfasst (kein Lebenszyklusereignis hat es angegeben)",
                     "pas encore enregistré (aucun événement de cycle de vie ne l’a indiqué)"),
    "not_shown": ("Not shown", "Nicht angezeigt", "Non affiché"),
    "not_shown_note": ("The issuer signed these claims in a shape this page does not display; they are named, not "
                       "shown.",
                       "Der Aussteller hat diese Angaben in einer Form signiert, die diese Seite nicht anzeigt; sie "
                       "werden genannt, nicht angezeigt.",
                       "L’émetteur a signé ces données sous une forme que cette page n’affiche pas ; elles sont "
                       "nommées, non affichées."),
    "not_disclosed": ("not disclosed at this access level", "auf dieser Zugriffsstufe nicht offengelegt",
                      "non communiqué à ce niveau d’accès"),
    "confidential_grams": ("kept confidential (the shares below are proved in zero knowledge)",
                           "vertraulich (die Anteile unten sind per Zero-Knowledge-Beweis belegt)",
                           "confidentiel (les parts ci-dessous sont prouvées à divulgation nulle)"),
    "last_updated": ("last updated {date}", "zuletzt aktualisiert {date}", "mis à jour le {date}"),
    "model": ("Model", "Modell", "Modèle"),
    "serial": ("Serial number", "Seriennummer", "Numéro de série"),
    "passport": ("Passport", "Pass", "Passeport"),
    "version": ("version {n}", "Version {n}", "version {n}"),
    "issued": ("Issued", "Ausgestellt", "Émis le"),
    "digital_link": ("Digital Link", "Digital Link", "Digital Link"),
    "battery": ("Battery", "Batterie", "Batterie"),
    "model_title": ("Battery model", "Batteriemodell", "Modèle de batterie"),
    "model_chemistry": ("Chemistry", "Chemie", "Chimie"),
    "model_energy": ("Rated energy (kWh)", "Nennenergie (kWh)", "Énergie nominale (kWh)"),
    "model_operator": ("Economic operator", "Wirtschaftsakteur", "Opérateur économique"),
    "model_batteries": ("Batteries", "Batterien", "Batteries"),
    "model_more": ("More batteries", "Weitere Batterien", "Plus de batteries"),
    "not_stated": ("not stated", "nicht angegeben", "non indiqué"),
    "at_a_glance": ("At a glance", "Auf einen Blick", "En bref"),
    "this_version": ("this passport", "dieser Pass", "ce passeport"),
    "status.original": ("original", "Original", "d’origine"),
    "status.repurposed": ("repurposed", "umgenutzt", "réaffectée"),
    "status.remanufactured": ("remanufactured", "wiederaufbereitet", "reconditionnée"),
    "status.reused": ("reused", "wiederverwendet", "réemployée"),
    "status.waste": ("waste", "Abfall", "déchet"),
    "operator_title": ("Your batteries", "Ihre Batterien", "Vos batteries"),
    "operator_intro": ("The batteries {who} placed on the market as economic operator, with their passports.",
                       "Die Batterien, die {who} als Wirtschaftsakteur in Verkehr gebracht hat, mit ihren Pässen.",
                       "Les batteries que {who} a mises sur le marché en tant qu’opérateur économique, avec leurs "
                       "passeports."),
    "operator_signin": ("This page is for economic operators: sign in with your participant credential.",
                        "Diese Seite ist für Wirtschaftsakteure: Melden Sie sich mit Ihrem Teilnehmer-Token an.",
                        "Cette page est réservée aux opérateurs économiques : connectez-vous avec votre jeton de "
                        "participant."),
    "pstatus.valid": ("valid", "gültig", "valide"),
    "pstatus.revoked": ("revoked", "widerrufen", "révoqué"),
    "pstatus.suspended": ("suspended", "ausgesetzt", "suspendu"),
    "pstatus.not issued here": ("not issued by this service", "nicht von diesem Dienst ausgestellt",
                                "non émis par ce service"),
    "restricted_tag": ("restricted", "geschützt", "restreint"),
    "restricted_note": ("Shown because you are signed in ({level}).", "Angezeigt, weil Sie angemeldet sind ({level}).",
                        "Affiché car vous êtes connecté ({level})."),
    "class_context": ("Performance class {cls}: {value} kg CO₂e per kWh of lifetime energy. The classes are provisional "
                      "until the Commission's delegated act fixes them; this passport uses the upper bounds {bounds}.",
                      "Leistungsklasse {cls}: {value} kg CO₂e je kWh Lebensdauerenergie. Die Klassen sind vorläufig, bis "
                      "der delegierte Rechtsakt der Kommission sie festlegt; dieser Pass verwendet die Obergrenzen {bounds}.",
                      "Classe de performance {cls} : {value} kg CO₂e par kWh d’énergie sur la durée de vie. Les classes "
                      "sont provisoires jusqu’à l’acte délégué de la Commission ; ce passeport utilise les bornes {bounds}."),
    "primary_data": ("Primary data: {p} % of the footprint.", "Primärdaten: {p} % des Fußabdrucks.",
                     "Données primaires : {p} % de l’empreinte."),
    "primary_stage": ("{p} % primary data", "{p} % Primärdaten", "{p} % de données primaires"),
    "art8_context": ("Art. 8(2) of Regulation (EU) 2023/1542 sets minimum recycled shares for cobalt, lead, lithium and "
                     "nickel in EV and industrial batteries: the first from 18 August 2031, the second from 18 August 2036. "
                     "Until then they are targets, not obligations.",
                     "Art. 8 Abs. 2 der Verordnung (EU) 2023/1542 legt Mindestrezyklatanteile für Kobalt, Blei, Lithium und "
                     "Nickel in Elektrofahrzeug- und Industriebatterien fest: die ersten ab 18. August 2031, die zweiten ab "
                     "18. August 2036. Bis dahin sind es Zielwerte, keine Pflichten.",
                     "L’art. 8, paragraphe 2, du règlement (UE) 2023/1542 fixe des parts minimales de cobalt, plomb, lithium "
                     "et nickel recyclés dans les batteries de véhicules électriques et industrielles : les premières à partir "
                     "du 18 août 2031, les secondes à partir du 18 août 2036. D’ici là, ce sont des objectifs, pas des "
                     "obligations."),
    "target_from": ("from {year}: {target} %", "ab {year}: {target} %", "dès {year} : {target} %"),
    "met": ("reached", "erreicht", "atteint"),
    "not_met": ("not yet reached", "noch nicht erreicht", "pas encore atteint"),
    "gba_context": ("Global Battery Alliance indices score the supply chain's child-labour and human-rights practice "
                    "from 0 to 100; higher is better. Coverage is the share of the supply chain (companies and "
                    "questions) the score rests on: a score with low coverage says less.",
                    "Die Indizes der Global Battery Alliance bewerten Kinderarbeit und Menschenrechte in der Lieferkette "
                    "von 0 bis 100; höher ist besser. Die Abdeckung ist der Anteil der Lieferkette (Unternehmen und "
                    "Fragen), auf dem der Wert beruht: ein Wert mit geringer Abdeckung sagt weniger aus.",
                    "Les indices de la Global Battery Alliance notent de 0 à 100 les pratiques de la chaîne "
                    "d’approvisionnement en matière de travail des enfants et de droits humains ; plus c’est élevé, mieux "
                    "c’est. La couverture est la part de la chaîne (entreprises et questions) sur laquelle repose la note : "
                    "une note à faible couverture en dit moins."),
    "coverage": ("coverage {c} % · {a} of {q} questions · {n} companies",
                 "Abdeckung {c} % · {a} von {q} Fragen · {n} Unternehmen",
                 "couverture {c} % · {a} questions sur {q} · {n} entreprises"),
    "score_of": ("{s} of 100", "{s} von 100", "{s} sur 100"),
    "origin": ("Where the materials come from", "Woher die Materialien stammen", "D’où viennent les matériaux"),
    "flow_note": ("Each element is drawn at the same height; the bands are its shares as the passport states them "
                  "(mined by country, certified or not, recycled).",
                  "Jedes Element ist gleich hoch gezeichnet; die Bänder sind seine Anteile laut Pass (abgebaut nach "
                  "Land, zertifiziert oder nicht, recycelt).",
                  "Chaque élément est dessiné à la même hauteur ; les bandes sont ses parts telles que le passeport les "
                  "indique (extrait par pays, certifié ou non, recyclé)."),
    "flow_note_hidden": ("The refiners and cell makers between mine and pack are not disclosed at this access level, "
                         "so they are not drawn.",
                         "Raffinerien und Zellhersteller zwischen Mine und Pack werden auf dieser Zugriffsstufe nicht "
                         "offengelegt und daher nicht gezeichnet.",
                         "Les raffineurs et fabricants de cellules entre la mine et le pack ne sont pas communiqués à "
                         "ce niveau d’accès ; ils ne sont donc pas dessinés."),
    "flow_stages_title": ("From the mines to this battery", "Von den Minen zu dieser Batterie",
                          "Des mines à cette batterie"),
    "flow_stages_note": ("Drawn from the ledger's lineage of this battery, which your access lets you read: each bar "
                         "is a stage, split into the sites that made the material; the bands are coloured by where "
                         "the material was mined or recycled. Each element is drawn at the same width; grams are of "
                         "this battery's content (mass balance).",
                         "Aus der Herkunftskette dieser Batterie im Register gezeichnet, die Ihr Zugriff lesen darf: "
                         "Jeder Balken ist eine Stufe, aufgeteilt auf die Standorte, die das Material hergestellt "
                         "haben; die Bänder sind nach Abbau- oder Recyclingherkunft gefärbt. Jedes Element ist gleich "
                         "breit gezeichnet; Gramm beziehen sich auf den Inhalt dieser Batterie (Massenbilanz).",
                         "Dessiné à partir de la filiation de cette batterie dans le registre, que votre accès permet "
                         "de lire : chaque barre est une étape, répartie entre les sites qui ont produit la matière ; "
                         "les bandes sont colorées selon l’origine minière ou recyclée. Chaque élément est dessiné à "
                         "la même largeur ; les grammes sont ceux du contenu de cette batterie (bilan massique)."),
    "flow_withheld": ("This battery's lineage is confidential: the quantities are commitments that only its economic "
                      "operator can open, so the stages are named without amounts: {stages}.",
                      "Die Herkunftskette dieser Batterie ist vertraulich: Die Mengen sind Commitments, die nur ihr "
                      "Wirtschaftsakteur öffnen kann; die Stufen werden daher ohne Mengen genannt: {stages}.",
                      "La filiation de cette batterie est confidentielle : les quantités sont des engagements que seul "
                      "son opérateur économique peut ouvrir ; les étapes sont donc nommées sans quantités : {stages}."),
    "stage.mine": ("Mines", "Minen", "Mines"),
    "stage.recycler": ("Recyclers", "Recycler", "Recycleurs"),
    "stage.refiner": ("Refiners", "Raffinerien", "Raffineurs"),
    "stage.cathode_maker": ("Cathode makers", "Kathodenhersteller", "Fabricants de cathodes"),
    "stage.cell_maker": ("Cell makers", "Zellhersteller", "Fabricants de cellules"),
    "stage.oem": ("Module and pack assembly", "Modul- und Packmontage", "Assemblage des modules et du pack"),
    "stage.product": ("This battery", "Diese Batterie", "Cette batterie"),
    "stage.other": ("Processors", "Verarbeiter", "Transformateurs"),
    "stage_and": (" and ", " und ", " et "),
    "unregistered": ("unregistered participant", "nicht registrierter Teilnehmer", "participant non enregistré"),
    "all_of": ("all of its {els}", "sein gesamtes {els}", "tout son {els}"),
    "mined_in": ("mined in {c}", "abgebaut in {c}", "extrait en {c}"),
    "certified": ("certified mining", "zertifizierter Abbau", "extraction certifiée"),
    "uncertified": ("uncertified mining", "nicht zertifizierter Abbau", "extraction non certifiée"),
    "recycled_pre": ("recycled, pre-consumer", "recycelt, Pre-Consumer", "recyclé, pré-consommation"),
    "recycled_post": ("recycled, post-consumer", "recycelt, Post-Consumer", "recyclé, post-consommation"),
    "this_pack": ("this battery", "diese Batterie", "cette batterie"),
    "origin_by_element": ("Mined origin by element", "Abbauherkunft je Element", "Origine minière par élément"),
    "element": ("Element", "Element", "Élément"),
    "pre": ("Pre-consumer", "Pre-Consumer", "Pré-consommation"),
    "post": ("Post-consumer", "Post-Consumer", "Post-consommation"),
    "targets": ("Art. 8 minimum", "Mindestanteil Art. 8", "Minimum art. 8"),
    "recycled_title": ("Recycled content against the Art. 8 minimums", "Rezyklatanteil gegenüber den Mindestanteilen nach Art. 8",
                       "Contenu recyclé au regard des minimums de l’art. 8"),
    "carbon_title": ("Carbon footprint by life-cycle stage", "CO₂-Fußabdruck je Lebenszyklusphase",
                     "Empreinte carbone par étape du cycle de vie"),
    "certified_share": ("Certified share", "Zertifizierter Anteil", "Part certifiée"),
    "share_axis": ("share of the element (%)", "Anteil am Element (%)", "part de l’élément (%)"),
    "history": ("Passport history", "Passverlauf", "Historique du passeport"),
    "predecessor": ("Previous passport (before repurposing)", "Vorheriger Pass (vor der Umnutzung)",
                    "Passeport précédent (avant réaffectation)"),
    "find_title": ("Find a battery", "Batterie suchen", "Trouver une batterie"),
    "find_intro": ("Scan the QR code on a battery, or enter its GTIN (13 or 14 digits) and serial number.",
                   "Scannen Sie den QR-Code auf der Batterie oder geben Sie GTIN (13 oder 14 Ziffern) und Seriennummer ein.",
                   "Scannez le code QR de la batterie ou saisissez son GTIN (13 ou 14 chiffres) et son numéro de série."),
    "gtin_label": ("GTIN (13 or 14 digits)", "GTIN (13 oder 14 Ziffern)", "GTIN (13 ou 14 chiffres)"),
    "open": ("Open passport", "Pass öffnen", "Ouvrir le passeport"),
    "token": ("Access token", "Zugangstoken", "Jeton d’accès"),
    "signin_intro": ("Repairers, recyclers and authorities receive an access token from the ledger operator.",
                     "Werkstätten, Recycler und Behörden erhalten ein Zugangstoken vom Registerbetreiber.",
                     "Les réparateurs, recycleurs et autorités reçoivent un jeton d’accès de l’opérateur du registre."),
    "signin_failed": ("Sign-in failed:", "Anmeldung fehlgeschlagen:", "Échec de la connexion :"),
    "cookie_fallback": ("Your sign-in has expired or is not valid for this service, so you see the public passport. "
                        "Sign in again to see restricted data.",
                        "Ihre Anmeldung ist abgelaufen oder für diesen Dienst ungültig; Sie sehen den öffentlichen Pass. "
                        "Melden Sie sich erneut an, um geschützte Daten zu sehen.",
                        "Votre connexion a expiré ou n’est pas valable pour ce service ; vous voyez le passeport public. "
                        "Reconnectez-vous pour voir les données restreintes."),
    "error": ("Error", "Fehler", "Erreur"),
    "not_found_title": ("No passport found", "Kein Pass gefunden", "Aucun passeport trouvé"),
    "not_found": ("There is no battery passport for GTIN {gtin}, serial {serial} on this service. Check the numbers "
                  "on the label and try again.",
                  "Für GTIN {gtin}, Seriennummer {serial} gibt es auf diesem Dienst keinen Batteriepass. Prüfen Sie die "
                  "Nummern auf dem Etikett und versuchen Sie es erneut.",
                  "Il n’y a pas de passeport pour le GTIN {gtin}, numéro de série {serial}, sur ce service. Vérifiez "
                  "les numéros sur l’étiquette et réessayez."),
    "bad_gtin_title": ("This is not a valid GTIN", "Dies ist keine gültige GTIN", "Ce GTIN n’est pas valide"),
    "bad_gtin_length": ("A GTIN has 14 digits (8, 12 and 13 digits are accepted too, as an EAN-13); “{gtin}” is not "
                        "one.",
                        "Eine GTIN hat 14 Ziffern (8, 12 und 13 Ziffern werden auch angenommen, etwa eine EAN-13); "
                        "„{gtin}“ ist keine.",
                        "Un GTIN a 14 chiffres (8, 12 et 13 chiffres sont aussi acceptés, comme un EAN-13) ; "
                        "« {gtin} » n’en est pas un."),
    "bad_gtin_check": ("The last digit of {gtin} is a check digit and should be {want}: one of the digits is probably "
                       "mistyped.",
                       "Die letzte Ziffer von {gtin} ist eine Prüfziffer und müsste {want} sein: vermutlich ist eine "
                       "Ziffer vertippt.",
                       "Le dernier chiffre de {gtin} est une clé de contrôle et devrait être {want} : un chiffre est "
                       "probablement mal saisi."),
    "bad_serial": ("A serial number has 1 to 20 characters: letters, digits and a few signs such as - . / _ "
                   "(no spaces); check the one on the label.",
                   "Eine Seriennummer hat 1 bis 20 Zeichen: Buchstaben, Ziffern und wenige Zeichen wie - . / _ "
                   "(keine Leerzeichen); prüfen Sie die auf dem Etikett.",
                   "Un numéro de série a de 1 à 20 caractères : lettres, chiffres et quelques signes comme - . / _ "
                   "(sans espaces) ; vérifiez celui de l’étiquette."),
    "revoked_title": ("This passport has been withdrawn", "Dieser Pass wurde zurückgezogen", "Ce passeport a été retiré"),
    "suspended_title": ("This passport is suspended", "Dieser Pass ist ausgesetzt", "Ce passeport est suspendu"),
    "failed_title": ("This passport could not be verified", "Dieser Pass konnte nicht geprüft werden",
                     "Ce passeport n’a pas pu être vérifié"),
    "failed_intro": ("Do not rely on it. The check that failed:", "Verlassen Sie sich nicht darauf. Die fehlgeschlagene Prüfung:",
                     "Ne vous y fiez pas. La vérification qui a échoué :"),
    "other_error": ("The request could not be answered.", "Die Anfrage konnte nicht beantwortet werden.",
                    "La demande n’a pas pu aboutir."),
    "search_again": ("Search again", "Erneut suchen", "Chercher à nouveau"),
    "soh_title": ("State of health over time", "Gesundheitszustand im Zeitverlauf", "État de santé dans le temps"),
}

STATUS_KEYS = frozenset(k for k in _TEXT if k.startswith(("status.", "pstatus.")))

_ELEMENTS = {"Co": ("Cobalt", "Kobalt", "Cobalt"), "Ni": ("Nickel", "Nickel", "Nickel"),
             "Li": ("Lithium", "Lithium", "Lithium"), "Mn": ("Manganese", "Mangan", "Manganèse"),
             "Pb": ("Lead", "Blei", "Plomb"), "Cu": ("Copper", "Kupfer", "Cuivre"), "Al": ("Aluminium", "Aluminium", "Aluminium"),
             "C": ("Graphite", "Graphit", "Graphite"), "Fe": ("Iron", "Eisen", "Fer"), "P": ("Phosphorus", "Phosphor", "Phosphore")}

_COUNTRIES = {
    "AR": ("Argentina", "Argentinien", "Argentine"), "AU": ("Australia", "Australien", "Australie"),
    "BO": ("Bolivia", "Bolivien", "Bolivie"), "BR": ("Brazil", "Brasilien", "Brésil"), "CA": ("Canada", "Kanada", "Canada"),
    "CD": ("DR Congo", "DR Kongo", "RD Congo"), "CL": ("Chile", "Chile", "Chili"), "CN": ("China", "China", "Chine"),
    "CU": ("Cuba", "Kuba", "Cuba"), "DE": ("Germany", "Deutschland", "Allemagne"), "FI": ("Finland", "Finnland", "Finlande"),
    "FR": ("France", "Frankreich", "France"), "GA": ("Gabon", "Gabun", "Gabon"), "ID": ("Indonesia", "Indonesien", "Indonésie"),
    "IN": ("India", "Indien", "Inde"), "JP": ("Japan", "Japan", "Japon"), "KR": ("South Korea", "Südkorea", "Corée du Sud"),
    "MA": ("Morocco", "Marokko", "Maroc"), "MG": ("Madagascar", "Madagaskar", "Madagascar"),
    "MZ": ("Mozambique", "Mosambik", "Mozambique"), "NC": ("New Caledonia", "Neukaledonien", "Nouvelle-Calédonie"),
    "NO": ("Norway", "Norwegen", "Norvège"), "PH": ("Philippines", "Philippinen", "Philippines"),
    "PL": ("Poland", "Polen", "Pologne"), "PT": ("Portugal", "Portugal", "Portugal"), "RU": ("Russia", "Russland", "Russie"),
    "SE": ("Sweden", "Schweden", "Suède"), "US": ("United States", "Vereinigte Staaten", "États-Unis"),
    "ZA": ("South Africa", "Südafrika", "Afrique du Sud"), "ZM": ("Zambia", "Sambia", "Zambie"),
    "ZW": ("Zimbabwe", "Simbabwe", "Zimbabwe"), "GB": ("United Kingdom", "Vereinigtes Königreich", "Royaume-Uni"),
    "AT": ("Austria", "Österreich", "Autriche"), "BE": ("Belgium", "Belgien", "Belgique"), "CH": ("Switzerland", "Schweiz", "Suisse"),
    "ES": ("Spain", "Spanien", "Espagne"), "IT": ("Italy", "Italien", "Italie"), "NL": ("Netherlands", "Niederlande", "Pays-Bas"),
    "HU": ("Hungary", "Ungarn", "Hongrie"), "CZ": ("Czechia", "Tschechien", "Tchéquie"),
}

_MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"),
}


def _i(lang: str) -> int:
    return LANGUAGES.index(lang) if lang in LANGUAGES else 0


def t(key: str, lang: str, **values: object) -> str:
    """The page text ``key`` in ``lang``, placeholders filled."""
    text = _TEXT[key][_i(lang)]
    return text.format(**values) if values else text


def element(symbol: str, lang: str) -> str:
    names = _ELEMENTS.get(symbol)
    return names[_i(lang)] if names else symbol


def country(code: str, lang: str) -> str:
    """A country's name from its ISO 3166-1 alpha-2 code; the code itself when the table lacks it."""
    names = _COUNTRIES.get(code.upper()) if isinstance(code, str) else None
    return names[_i(lang)] if names else str(code)


def month(number: int, lang: str) -> str:
    return _MONTHS[lang if lang in _MONTHS else "en"][number - 1]


def fmt_number(value: float, lang: str, digits: int | None = None) -> str:
    """``value`` with the language's separators: 1,234.5 (en), 1.234,5 (de), 1 234,5 (fr). Without
    ``digits``: up to 3 decimals, trailing zeros dropped."""
    text = f"{value:,.3f}".rstrip("0").rstrip(".") if digits is None else f"{value:,.{digits}f}"
    if text in ("-0", "-0.0"):
        text = text[1:]
    if lang == "de":
        return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    if lang == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` first, then the language cookie, then Accept-Language
    (by q-value), else English."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return str(choice)
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > 0:
            ranked.append((-q, i, primary))
    return sorted(ranked)[0][2] if ranked else "en"
