{{ ontraport_staging('campaign_builder_items') }}
